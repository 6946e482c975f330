package io.wharf.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.core.config.WharfConfig;
import java.net.InetAddress;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ClientLimitsTest {
  private final AtomicLong nanos = new AtomicLong();

  private ClientLimits limits(String server) {
    WharfConfig c = WharfConfig.parse("listen: 127.0.0.1:0\nserver:\n" + server);
    return new ClientLimits(c.server(), nanos::get);
  }

  @Test
  void tokenBucket_burstThenRefillAtRate() {
    ClientLimits l = limits("  requestsPerSecond: 2\n  requestBurst: 3\n");
    assertThat(l.tryRequest("k")).isZero();
    assertThat(l.tryRequest("k")).isZero();
    assertThat(l.tryRequest("k")).isZero();
    assertThat(l.tryRequest("k")).isEqualTo(1);
    assertThat(l.tryRequest("other")).as("buckets are per key").isZero();
    nanos.addAndGet(500_000_000L); // half a second: one token at 2/s
    assertThat(l.tryRequest("k")).isZero();
    assertThat(l.tryRequest("k")).isEqualTo(1);
    nanos.addAndGet(60_000_000_000L);
    for (int i = 0; i < 3; i++) {
      assertThat(l.tryRequest("k")).as("refill stops at the burst").isZero();
    }
    assertThat(l.tryRequest("k")).isPositive();
  }

  @Test
  void slowRate_retryAfterInWholeSeconds() {
    ClientLimits l = limits("  requestsPerSecond: 0.1\n  requestBurst: 1\n");
    assertThat(l.tryRequest("k")).isZero();
    assertThat(l.tryRequest("k")).isEqualTo(10);
  }

  @Test
  void keys_identityOnlyForVerifiedUsers() throws Exception {
    InetAddress a = InetAddress.getByName("10.0.0.1");
    ClientLimits byAddr = limits("  requestsPerSecond: 1\n");
    assertThat(byAddr.key(a, "up", "alice")).isEqualTo("addr 10.0.0.1");
    ClientLimits byId = limits("  requestsPerSecond: 1\n  limitBy: identity\n");
    assertThat(byId.key(a, "up", "alice")).isEqualTo("user up/alice");
    assertThat(byId.key(a, "up", null)).isEqualTo("addr 10.0.0.1");
  }

  @Test
  void noRate_neverLimits() {
    ClientLimits l = limits("");
    for (int i = 0; i < 10_000; i++) {
      assertThat(l.tryRequest("k")).isZero();
    }
  }
}
