package io.wharf.core.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.github.benmanes.caffeine.cache.Ticker;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.core.Options;
import com.github.tomakehurst.wiremock.core.WireMockConfiguration;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.wharf.core.config.Credentials;
import io.wharf.core.config.UpstreamConfig;
import io.wharf.core.metrics.WharfMeters;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;

/**
 * Shared set-up for the socket tests: a WireMock "registry" and a WireMock "storage" (another
 * origin, like S3 behind a redirect) on 127.0.0.1 dynamic ports, a client factory and meter reads.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
abstract class UpstreamItSupport {

  static final String UPSTREAM = "test.reg";

  static WireMockServer registry;
  static WireMockServer storage;

  ExecutorService executor;
  SimpleMeterRegistry meterRegistry;
  WharfMeters meters;
  final AtomicLong fakeNanos = new AtomicLong(1_000_000_000L);
  final Ticker fakeTicker = fakeNanos::get;
  private final List<RegistryClient> clients = new ArrayList<>();

  @BeforeAll
  static void startServers() {
    registry = new WireMockServer(wireMockOptions());
    storage = new WireMockServer(wireMockOptions());
    registry.start();
    storage.start();
  }

  static WireMockConfiguration wireMockOptions() {
    return WireMockConfiguration.options()
        .bindAddress("127.0.0.1")
        .dynamicPort()
        .useChunkedTransferEncoding(Options.ChunkedEncodingPolicy.NEVER)
        .gzipDisabled(true);
  }

  @AfterAll
  static void stopServers() {
    registry.stop();
    storage.stop();
  }

  @BeforeEach
  void setUp() {
    registry.resetAll();
    storage.resetAll();
    executor = Executors.newFixedThreadPool(4);
    meterRegistry = new SimpleMeterRegistry();
    meters = new WharfMeters(meterRegistry);
  }

  @AfterEach
  void tearDown() {
    clients.forEach(RegistryClient::close);
    executor.shutdownNow();
  }

  static String registryUrl() {
    return "http://127.0.0.1:" + registry.port();
  }

  static String storageUrl() {
    return "http://127.0.0.1:" + storage.port();
  }

  static String realm() {
    return registryUrl() + "/token";
  }

  static String bearerChallenge(String repo) {
    return "Bearer realm=\"" + realm() + "\",service=\"test-registry\",scope=\"repository:" + repo + ":pull\"";
  }

  UpstreamConfig config(Credentials credentials) {
    return new UpstreamConfig(
            UPSTREAM, registryUrl(), null, credentials, null, null,
            Duration.ofSeconds(2), Duration.ofSeconds(5), null, null, null, null, null, null, null, null,
            null, null)
        .withDefaults();
  }

  RegistryClient client() {
    return client(config(Credentials.NONE), Map.of());
  }

  RegistryClient client(Credentials credentials) {
    return client(config(credentials), Map.of());
  }

  RegistryClient client(UpstreamConfig config, Map<String, String> env) {
    RegistryClient c = new RegistryClient(config, env, executor, meters, null, fakeTicker, Clock.systemUTC());
    clients.add(c);
    return c;
  }

  /** The {@link UpstreamException} {@code f} failed with (fails the test if it did not). */
  static UpstreamException failure(CompletableFuture<?> f) {
    Throwable t = catchThrowable(() -> f.get(30, TimeUnit.SECONDS));
    assertThat(t).as("expected the future to fail").isNotNull();
    Throwable cause = t.getCause();
    if (cause instanceof CompletionException && cause.getCause() != null) {
      cause = cause.getCause();
    }
    assertThat(cause).isInstanceOf(UpstreamException.class);
    return (UpstreamException) cause;
  }

  static <T> T await(CompletableFuture<T> f) throws Exception {
    return f.get(30, TimeUnit.SECONDS);
  }

  static byte[] readAll(BlobStream s) throws Exception {
    HttpResponse.BodySubscriber<byte[]> sub = HttpResponse.BodySubscribers.ofByteArray();
    s.body().subscribe(sub);
    return sub.getBody().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  double requests(String kind, String result) {
    Counter c =
        meterRegistry.find(WharfMeters.UPSTREAM_REQUESTS)
            .tags("upstream", UPSTREAM, "kind", kind, "result", result)
            .counter();
    return c == null ? 0 : c.count();
  }

  /** Every message in the exception's cause chain, joined, to check no secret slipped in. */
  static String allMessages(Throwable t) {
    StringBuilder b = new StringBuilder();
    for (Throwable x = t; x != null; x = x.getCause()) {
      b.append(x).append('\n');
    }
    return b.toString();
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
