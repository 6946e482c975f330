package io.wharf.core.access;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class BearerTokensTest {
  private final AtomicLong now = new AtomicLong(1_700_000_000_000L);
  private final byte[] key = "0123456789abcdef0123456789abcdef".getBytes();
  private final BearerTokens tokens = new BearerTokens(key, Duration.ofMinutes(15), now::get);

  @Test
  void issue_verify_claims() {
    String t = tokens.issue("up", "node", List.of("library/alpine"));
    BearerTokens.Claims c = tokens.verify(t);
    assertThat(c).isNotNull();
    assertThat(c.upstream()).isEqualTo("up");
    assertThat(c.user()).isEqualTo("node");
    assertThat(c.allows("library/alpine")).isTrue();
    assertThat(c.allows("library/redis")).isFalse();
    assertThat(c.expiresAt() - c.issuedAt()).isEqualTo(900);
  }

  @Test
  void expired_rejected() {
    String t = tokens.issue("up", "node", List.of("a"));
    now.addAndGet(Duration.ofMinutes(15).toMillis() - 1000);
    assertThat(tokens.verify(t)).isNotNull();
    now.addAndGet(1000);
    assertThat(tokens.verify(t)).isNull();
  }

  @Test
  void tampered_orOtherKey_rejected() {
    String t = tokens.issue("up", "node", List.of("a"));
    String payload = t.substring(0, t.lastIndexOf('.'));
    String forged = new BearerTokens("X123456789abcdef0123456789abcdef".getBytes(),
        Duration.ofMinutes(15), now::get).issue("up", "node", List.of("a", "secret"));
    assertThat(tokens.verify(forged)).isNull();
    assertThat(tokens.verify(payload + "." + forged.substring(forged.lastIndexOf('.') + 1))).isNull();
    assertThat(tokens.verify(forged.substring(0, forged.lastIndexOf('.')) + t.substring(t.lastIndexOf('.'))))
        .isNull();
    assertThat(tokens.verify("w1.")).isNull();
    assertThat(tokens.verify("garbage")).isNull();
    assertThat(tokens.verify(null)).isNull();
  }

  @Test
  void pullRepositories_parsesDockerAndOauthScopes() {
    assertThat(BearerTokens.pullRepositories(List.of(
        "repository:library/alpine:pull",
        "repository:a/b:push,pull repository:c:push",
        "repository:host:5000/x:pull",
        "registry:catalog:*",
        "repository:d:*")))
        .containsExactly("library/alpine", "a/b", "host:5000/x", "d");
  }
}
