// Worker entry for deployment: bundles the operator's config.json (wrangler.toml aliases
// "bridge-config" to it) and exports the Durable Object classes wrangler.toml declares.
import rawConfig from "bridge-config";
import { createWorker } from "./worker";

export { CodeStore } from "./codes/store";
export { KeyKeeper } from "./keys/keeper";

export default createWorker(rawConfig);
