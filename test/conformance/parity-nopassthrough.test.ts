// POSIX parity with FUSE passthrough disabled: all reads and writes go
// through the daemon.
import { registerParityTests } from './suite.js';

registerParityTests(['passthrough.io=off'], ' (passthrough off)');
