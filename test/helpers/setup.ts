// Runs before every file of the workers project: the bridge starts as `npm run deploy` leaves it, with
// its keys stocked. Files about the first request on an empty namespace delete the set in their beforeAll.
import { beforeAll } from "vitest";
import { stockKeys } from "./keys";

beforeAll(async () => {
  await stockKeys();
});
