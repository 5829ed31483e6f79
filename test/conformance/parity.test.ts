// POSIX parity: every case on a plain directory vs. inside a braidfs mount
// with default options (FUSE passthrough on when the kernel offers it).
import { registerParityTests } from './suite.js';

registerParityTests([], '');
