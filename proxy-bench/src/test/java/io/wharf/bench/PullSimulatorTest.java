package io.wharf.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class PullSimulatorTest {
  static final URI A = URI.create("http://127.0.0.1:5001");
  static final URI B = URI.create("http://127.0.0.1:5002");
  static final URI C = URI.create("http://127.0.0.1:5003");

  static PullSimulator.Options over(List<URI> registries, int nodes) {
    return new PullSimulator.Options(registries, List.of("bench/app:v1"), nodes, 3,
        Duration.ofSeconds(1), null, 1, 1.0, 42);
  }

  @Test
  void registryOf_threeRegistries_nodesRoundRobin() {
    PullSimulator.Options o = over(List.of(A, B, C), 7);
    assertThat(IntStream.range(0, 7).mapToObj(o::registryOf))
        .containsExactly(A, B, C, A, B, C, A);
  }

  @Test
  void registryOf_manyNodes_evenSpread() {
    PullSimulator.Options o = over(List.of(A, B, C), 300);
    assertThat(IntStream.range(0, 300).mapToObj(o::registryOf).filter(B::equals).count()).isEqualTo(100);
  }

  @Test
  void registryOf_oneRegistry_everyNode() {
    PullSimulator.Options o = PullSimulator.Options.single(A, "bench/app", "v1", 5, 3,
        Duration.ofSeconds(1), null, 1);
    assertThat(o.registries()).containsExactly(A);
    assertThat(IntStream.range(0, 5).mapToObj(o::registryOf)).containsOnly(A);
  }

  @Test
  void registries_repeatedAndCommaSeparated_inOrder() {
    assertThat(PullSimulator.registries(List.of(A + "," + B, " " + C + " ,")))
        .containsExactly(A, B, C);
    assertThat(PullSimulator.registries(List.of(A.toString()))).containsExactly(A);
  }

  @Test
  void options_noRegistry_rejected() {
    assertThatThrownBy(() -> over(List.of(), 1)).isInstanceOf(IllegalArgumentException.class);
  }
}
