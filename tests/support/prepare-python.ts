/**
 * Makes the Python frameworks' venv ahead of the tests (`npx tsx tests/support/prepare-python.ts`):
 * .ci/run starts it beside the install, lint and build, since pip mostly waits on the network
 * and the disk, instead of letting the first Python test wait a minute for it.
 */
import { frameworksPython } from './python';

const started = Date.now();
const python = await frameworksPython();
console.log(`Python frameworks ready in ${Math.round((Date.now() - started) / 1000)} s: ${python}`);
