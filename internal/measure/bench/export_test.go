package bench

// Median is median, for the tests of package bench_test.
var Median = median
