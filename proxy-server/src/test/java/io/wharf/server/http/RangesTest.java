package io.wharf.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RangesTest {
  @Test
  void parse_forms() {
    assertThat(Ranges.parse("bytes=0-99").resolve(1000)).containsExactly(0, 99);
    assertThat(Ranges.parse("bytes=900-").resolve(1000)).containsExactly(900, 999);
    assertThat(Ranges.parse("bytes=-100").resolve(1000)).containsExactly(900, 999);
    assertThat(Ranges.parse("bytes=-5000").resolve(1000)).containsExactly(0, 999);
    assertThat(Ranges.parse("bytes=990-2000").resolve(1000)).containsExactly(990, 999);
  }

  @Test
  void resolve_blobsOver4GiB_use64BitOffsets() {
    long size = 6L << 30;
    assertThat(Ranges.parse("bytes=5000000000-").resolve(size)).containsExactly(5_000_000_000L, size - 1);
    assertThat(Ranges.parse("bytes=-10").resolve(size)).containsExactly(size - 10, size - 1);
    assertThat(Ranges.parse("bytes=4294967296-4294967299").resolve(size))
        .containsExactly(4_294_967_296L, 4_294_967_299L);
  }

  @Test
  void resolve_unsatisfiable_isNull() {
    assertThat(Ranges.parse("bytes=1000-").resolve(1000)).isNull();
    assertThat(Ranges.parse("bytes=-0").resolve(1000)).isNull();
    assertThat(Ranges.parse("bytes=0-").resolve(0)).isNull();
  }

  @Test
  void parse_ignoredForms_areNull() {
    assertThat(Ranges.parse(null)).isNull();
    assertThat(Ranges.parse("bytes=0-1,5-6")).isNull();
    assertThat(Ranges.parse("items=0-1")).isNull();
    assertThat(Ranges.parse("bytes=5-1")).isNull();
    assertThat(Ranges.parse("bytes=x-1")).isNull();
    assertThat(Ranges.parse("bytes=-")).isNull();
    assertThat(Ranges.parse("bytes=--1")).isNull();
    assertThat(Ranges.parse("bytes=5--3")).isNull();
    assertThat(Ranges.parse("bytes=+5-+6")).isNull();
    assertThat(Ranges.parse("bytes= 1 - 2 ")).isNotNull();
  }
}
