package io.wharf.core.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class RetryAfterTest {

  private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");

  @Test
  void seconds_delaySeconds_parsed() {
    assertThat(RetryAfter.seconds("120", NOW)).isEqualTo(120);
    assertThat(RetryAfter.seconds(" 0 ", NOW)).isZero();
  }

  @Test
  void seconds_httpDate_secondsFromNow() {
    assertThat(RetryAfter.seconds("Sun, 01 Mar 2026 12:01:30 GMT", NOW)).isEqualTo(90);
  }

  @Test
  void seconds_httpDateInPast_zero() {
    assertThat(RetryAfter.seconds("Sun, 01 Mar 2026 11:00:00 GMT", NOW)).isZero();
  }

  @Test
  void seconds_absentOrGarbage_minusOne() {
    assertThat(RetryAfter.seconds(null, NOW)).isEqualTo(-1);
    assertThat(RetryAfter.seconds("soon", NOW)).isEqualTo(-1);
    assertThat(RetryAfter.seconds("-5", NOW)).isEqualTo(-1);
    assertThat(RetryAfter.seconds("99999999999999999999999", NOW)).isEqualTo(-1);
  }
}
