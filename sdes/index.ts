export * from './sde';
export * from './ve';
export * from './vp';
export * from './schedules';
export * from './reverse';
export * from './kernel';
export * from './make';
export * from './parameterization';
