/**
 * Sample-quality metrics between generated and reference samples. Every function takes row-major
 * sample sets (n × dim, any numeric array) and is usable on its own:
 *   slicedWasserstein, wasserstein1d   SW_p over seeded random directions; exact 1-D W_p
 *   mmdRbf                             unbiased MMD² with an RBF kernel, median-heuristic bandwidth
 *   meanError, covarianceError         ‖mean_a − mean_b‖₂, ‖cov_a − cov_b‖_F
 *   pixelStats, pixelHistogramDistance images (all values pooled)
 *   frechetDistance, gaussianStats     Fréchet distance between Gaussians (FID's formula), sqrtPsd
 *   kernelInceptionDistance            KID: unbiased MMD², cubic polynomial kernel, over subsets
 *   classCoverage, histogramTv         predicted-class histogram, confidence; TV of histograms
 *   loadFeatureReference, floorAt      shipped reference statistics and their floors at any n
 *   computeMetrics                     every metric that applies to a sample shape
 * The classifier that makes features (./features, ./image-quality) needs onnxruntime and is
 * imported from its own module, so that importing metrics does not load onnxruntime.
 */
export * from './rows';
export * from './wasserstein';
export * from './mmd';
export * from './moments';
export * from './pixels';
export * from './compute';
export * from './frechet';
export * from './kid';
export * from './coverage';
export * from './feature-reference';
