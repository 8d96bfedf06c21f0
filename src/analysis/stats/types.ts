/** Alternative hypothesis of a two-sample or one-sample test, with SciPy's meaning:
 * `'less'`: the first sample's location (mean / distribution) is smaller than the second's (or than `mu`);
 * `'greater'`: it is larger; `'two-sided'`: it differs. */
export type TestAlternative = 'two-sided' | 'less' | 'greater';

/** Two-sided or one-sided confidence interval `[lower, upper]`; one-sided intervals have an infinite end. */
export type ConfidenceInterval = [number, number];
