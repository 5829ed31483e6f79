// The lock cases again with locks=daemon: the kernel sends every fcntl and
// flock request, and a FLUSH on each close, to braidfs's own lock table
// (the default, locks=kernel, leaves locks to the kernel).
import { registerParityTests } from './suite.js';
import { locksCases } from './cases/locks.js';

registerParityTests(['locks=daemon'], ' (locks=daemon)', Object.keys(locksCases));
