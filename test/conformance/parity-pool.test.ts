// POSIX parity with every branch syscall on the thread pool (-o syscalls=pool)
// and passthrough off: the asynchronous path that protects against slow
// branches must behave exactly like the inline one.
import { registerParityTests } from './suite.js';

registerParityTests(['syscalls=pool', 'passthrough.io=off'], ' (thread pool, passthrough off)');
