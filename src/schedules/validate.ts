/** Shared argument checks for schedule factories: throw a RangeError naming the field and value. */
export function requirePositive(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a finite number > 0, got ${String(value)}`);
  }
}

export function requireNonNegative(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a finite number >= 0, got ${String(value)}`);
  }
}

export function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be an integer >= 1, got ${String(value)}`);
  }
}

/** Checks the iteration argument of a schedule: an integer >= 0. */
export function checkIteration(iteration: number): void {
  if (!Number.isInteger(iteration) || iteration < 0) {
    throw new RangeError(`iteration must be an integer >= 0, got ${String(iteration)}`);
  }
}
