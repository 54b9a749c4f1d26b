// What the viewer page uses of three.js, bundled by build.sh into three.bundle.min.js (global IGD3).
export {
  AmbientLight, BoxGeometry, BufferGeometry, CanvasTexture, Color, CylinderGeometry, DirectionalLight, DoubleSide,
  Float32BufferAttribute, Group, InstancedMesh, LineBasicMaterial, LineSegments, Matrix4, Mesh, MeshLambertMaterial,
  PerspectiveCamera, Points, PointsMaterial, REVISION, Scene, SphereGeometry, Sprite, SpriteMaterial, SRGBColorSpace,
  Vector3, WebGLRenderer,
} from 'three';
export { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
export { toCreasedNormals } from 'three/examples/jsm/utils/BufferGeometryUtils.js';
