package io.wharf.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LogSafeTest {
  @Test
  void controlCharactersAndLineSeparators_becomeVisibleEscapes() {
    String forged = "mallory\n2026-12-03 ERROR [main] FORGED\r\u001b[31mRED\u0007\u2028x";
    String safe = LogSafe.text(forged);
    assertThat(safe).doesNotContain("\n", "\r", "\u001b", "\u0007", "\u2028")
        .isEqualTo("mallory\\x0a2026-12-03 ERROR [main] FORGED\\x0d\\x1b[31mRED\\x07\\u2028x");
    assertThat(LogSafe.text("/v2/team/app/manifests/v1")).isEqualTo("/v2/team/app/manifests/v1");
    assertThat(LogSafe.text(null)).isNull();
  }

  @Test
  void longValues_areCut_andSayHowLongTheyWere() {
    String s = LogSafe.text("a".repeat(5000));
    assertThat(s).startsWith("a".repeat(2048)).endsWith("...(5000 chars)").hasSize(2048 + 15);
  }
}
