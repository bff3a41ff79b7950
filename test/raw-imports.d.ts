// Vite's ?raw imports (a file's text), used by tests that read the example files in docs/.
declare module "*?raw" {
  const text: string;
  export default text;
}
