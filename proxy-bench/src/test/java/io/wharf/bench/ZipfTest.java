package io.wharf.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class ZipfTest {

  @Test
  void sample_sameSeed_sameDraw() {
    Zipf z = new Zipf(20, 1.0);
    assertThat(z.sample(500, 42)).containsExactly(z.sample(500, 42));
    assertThat(new Zipf(20, 1.0).sample(500, 42)).containsExactly(z.sample(500, 42));
    assertThat(z.sample(500, 43)).isNotEqualTo(z.sample(500, 42));
  }

  @Test
  void probability_sOne_isHarmonic() {
    Zipf z = new Zipf(20, 1.0);
    double h20 = 0;
    for (int k = 1; k <= 20; k++) {
      h20 += 1.0 / k;
    }
    double total = 0;
    for (int k = 0; k < 20; k++) {
      assertThat(z.probability(k)).isCloseTo(1.0 / ((k + 1) * h20), within(1e-12));
      total += z.probability(k);
    }
    assertThat(total).isCloseTo(1.0, within(1e-12));
  }

  @Test
  void sample_manyDraws_followTheDistribution() {
    Zipf z = new Zipf(20, 1.0);
    int n = 200_000;
    int[] counts = new int[20];
    for (int i : z.sample(n, 7)) {
      counts[i]++;
    }
    for (int k = 0; k < 20; k++) {
      // Binomial standard deviation is under 0.1 % of n here; 0.5 % is five of them.
      assertThat(counts[k] / (double) n).as("item %d", k).isCloseTo(z.probability(k), within(0.005));
    }
    assertThat(counts[0]).isGreaterThan(counts[1]).isGreaterThan(counts[19] * 10);
  }

  @Test
  void item_boundaries_belongToTheNextItem() {
    Zipf z = new Zipf(3, 0); // uniform: [0, 1/3) [1/3, 2/3) [2/3, 1)
    assertThat(z.item(0.0)).isZero();
    assertThat(z.item(0.3333)).isZero();
    assertThat(z.item(z.probability(0))).isEqualTo(1);
    assertThat(z.item(0.9999999)).isEqualTo(2);
    assertThat(new Zipf(1, 1.0).sample(10, 1)).containsOnly(0);
  }

  @Test
  void constructor_badArguments_rejected() {
    assertThatThrownBy(() -> new Zipf(0, 1.0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Zipf(5, -1)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void options_assignment_singleImageAllZero_severalImagesZipf() {
    var one = PullSimulator.Options.single(java.net.URI.create("http://127.0.0.1:1"), "a", "v1", 50,
        3, java.time.Duration.ofSeconds(1), null, 1);
    assertThat(one.assignment()).hasSize(50).containsOnly(0);
    var many = new PullSimulator.Options(java.net.URI.create("http://127.0.0.1:1"),
        java.util.stream.IntStream.range(0, 20).mapToObj(i -> "z" + i + ":v1").toList(), 200, 3,
        java.time.Duration.ofSeconds(1), null, 1, 1.0, 42);
    assertThat(many.assignment()).containsExactly(new Zipf(20, 1.0).sample(200, 42));
  }
}
