/**
 * Sample-quality metrics between generated and reference samples. Every function takes row-major
 * sample sets (n × dim, any numeric array) and is usable on its own:
 *   slicedWasserstein, wasserstein1d   SW_p over seeded random directions; exact 1-D W_p
 *   mmdRbf                             unbiased MMD² with an RBF kernel, median-heuristic bandwidth
 *   meanError, covarianceError         ‖mean_a − mean_b‖₂, ‖cov_a − cov_b‖_F
 *   pixelStats, pixelHistogramDistance images (all values pooled)
 *   computeMetrics                     every metric that applies to a sample shape
 */
export * from './rows';
export * from './wasserstein';
export * from './mmd';
export * from './moments';
export * from './pixels';
export * from './compute';
