package io.wharf.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SyntheticRegistryTest {

  @Test
  void cutAt_fraction_ofTheRequestedRange() {
    assertThat(SyntheticRegistry.cutAt(0, 1000, 0.5)).isEqualTo(500);
    assertThat(SyntheticRegistry.cutAt(400, 1400, 0.25)).isEqualTo(650);
  }

  @Test
  void cutAt_alwaysPartial_neverEmptyNorComplete() {
    assertThat(SyntheticRegistry.cutAt(0, 1000, 0.0001)).isEqualTo(1);
    assertThat(SyntheticRegistry.cutAt(0, 1000, 0.99999)).isEqualTo(999);
    assertThat(SyntheticRegistry.cutAt(0, 1000, 0)).isEqualTo(1000); // off
    assertThat(SyntheticRegistry.cutAt(7, 8, 0.5)).isEqualTo(8); // one byte cannot be cut
  }
}
