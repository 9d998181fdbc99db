// config.json is bundled at build time under the module name "bridge-config" (wrangler.toml [alias];
// tests and `npm start` point it elsewhere). Its content is validated at runtime by src/config.ts.
declare module "bridge-config" {
  const raw: unknown;
  export default raw;
}
