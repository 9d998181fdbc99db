// Worker entry for `npm start`: the same Worker with dev/config.json (fake Discord, demo client).
import { createWorker } from "../src/worker";
import rawConfig from "./config.json";

export { CodeStore } from "../src/codes/store";
export { KeyKeeper } from "../src/keys/keeper";

export default createWorker(rawConfig);
