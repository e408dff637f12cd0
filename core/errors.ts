/** Raised for a bad argument: the message names the parameter, the value and what is allowed. */
export class ParameterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParameterError';
  }
}

export function requirePositive(name: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new ParameterError(`${name} must be a finite number > 0, got ${value}`);
  }
}

export function requireInteger(name: string, value: number, min: number): void {
  if (!(Number.isInteger(value) && value >= min)) {
    throw new ParameterError(`${name} must be an integer >= ${min}, got ${value}`);
  }
}
