package io.wharf.bench;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Zipf popularity over {@code n} items: item {@code k} (0-based, rank {@code k + 1}) is drawn with
 * probability proportional to {@code 1 / (k + 1)^s}. Deterministic for a given seed, so every
 * target in a run (and every run) sees the same node-to-image assignment.
 */
final class Zipf {
  private final double[] cumulative;

  Zipf(int n, double s) {
    if (n < 1 || s < 0 || Double.isNaN(s)) {
      throw new IllegalArgumentException("Zipf needs n >= 1 and s >= 0, got n=" + n + " s=" + s);
    }
    cumulative = new double[n];
    double sum = 0;
    for (int k = 0; k < n; k++) {
      sum += 1 / Math.pow(k + 1, s);
      cumulative[k] = sum;
    }
    for (int k = 0; k < n; k++) {
      cumulative[k] /= sum;
    }
    cumulative[n - 1] = 1.0;
  }

  /** Probability of item {@code k}. */
  double probability(int k) {
    return cumulative[k] - (k == 0 ? 0 : cumulative[k - 1]);
  }

  /** The item for a uniform {@code u} in [0, 1). */
  int item(double u) {
    int i = Arrays.binarySearch(cumulative, u);
    // Exact hit on a boundary belongs to the next item (intervals are [c[k-1], c[k])).
    return i >= 0 ? Math.min(i + 1, cumulative.length - 1) : -i - 1;
  }

  /** {@code count} draws from a generator seeded with {@code seed}. */
  int[] sample(int count, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    int[] out = new int[count];
    for (int i = 0; i < count; i++) {
      out[i] = item(r.nextDouble());
    }
    return out;
  }
}
