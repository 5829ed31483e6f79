// Values that are often ready at once and sometimes not.
//
// A branch probe on a local disk answers synchronously (the syscall runs on
// the JS thread); one on a slow branch answers through the thread pool.
// Code on the hot path (lookup, getattr, the policies) is written against
// MaybePromise so the common case runs straight through, without a promise
// and a microtask per step, and the slow case still works. One code path
// serves both; `then` is the only glue.

export type MaybePromise<T> = T | Promise<T>;

export const isPromise = <T>(v: MaybePromise<T>): v is Promise<T> => v instanceof Promise;

/** f(v) at once when v is a value, else once it resolves. */
export function then<T, U>(v: MaybePromise<T>, f: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return v instanceof Promise ? v.then(f) : f(v);
}

/** Every value at once when none is pending, else one promise of them all. */
export function all<T>(vs: readonly MaybePromise<T>[]): MaybePromise<T[]> {
  return vs.some(isPromise) ? Promise.all(vs) : (vs as T[]);
}
