// Permission parity as an unprivileged user, with the default options
// (passthrough on, handle-killpriv-v2 on). See user-suite.ts.
import { registerUserTests } from './user-suite.js';

registerUserTests([], '');
