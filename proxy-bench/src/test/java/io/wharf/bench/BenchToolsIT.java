package io.wharf.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.core.config.WharfConfig;
import io.wharf.core.oci.Digest;
import io.wharf.server.WharfServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The bench tools themselves: the synthetic registry serves what it claims, the simulator checks it. */
@Timeout(60)
class BenchToolsIT {
  SyntheticRegistry synth;
  final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @BeforeEach
  void setUp() {
    synth = SyntheticRegistry.start(List.of(SyntheticRegistry.ImageSpec.parse("bench/app:v1=300k,100k,1k,70000")),
        "127.0.0.1", 0, 0, Duration.ZERO);
  }

  @AfterEach
  void tearDown() {
    synth.close();
  }

  private HttpResponse<byte[]> get(String url, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  @Test
  void synthetic_servesBlobsAndManifestsUnderTheirDigests_andCountsThem() throws Exception {
    SyntheticRegistry.Image img = synth.images().get(0);
    HttpResponse<byte[]> m = get(synth.url() + "/v2/bench/app/manifests/v1");
    assertThat(m.statusCode()).isEqualTo(200);
    assertThat(Digest.sha256Of(m.body())).isEqualTo(img.manifestDigest());
    assertThat(m.headers().firstValue("Docker-Content-Digest")).contains(img.manifestDigest().toString());
    for (Digest d : img.layers()) {
      HttpResponse<byte[]> b = get(synth.url() + "/v2/bench/app/blobs/" + d);
      assertThat(Digest.sha256Of(b.body())).isEqualTo(d);
      assertThat(synth.blobGets(d)).isEqualTo(1);
    }
    assertThat(img.spec().layerSizes()).containsExactly(300L << 10, 100L << 10, 1024L, 70_000L);
    // The same spec gives the same bytes in another process.
    SyntheticRegistry again = SyntheticRegistry.start(List.of(img.spec()), "127.0.0.1", 0, 0, Duration.ZERO);
    try {
      assertThat(again.images().get(0).manifestDigest()).isEqualTo(img.manifestDigest());
    } finally {
      again.close();
    }
    HttpResponse<byte[]> range = get(synth.url() + "/v2/bench/app/blobs/" + img.layers().get(0),
        "Range", "bytes=1000-");
    assertThat(range.statusCode()).isEqualTo(206);
    assertThat(range.body()).hasSize((300 << 10) - 1000);
    assertThat(new String(get(synth.url() + "/_bench/counters").body()))
        .contains("\"" + img.layers().get(0) + "\":{\"get\":2");
  }

  @Test
  void synthetic_throttle_capsBandwidthAndAddsLatency() throws Exception {
    SyntheticRegistry.Image img = synth.images().get(0);
    synth.throttle(1_000_000, Duration.ofMillis(100)); // 1 MB/s: 300 KiB take ~0.3 s
    long t0 = System.nanoTime();
    get(synth.url() + "/v2/bench/app/blobs/" + img.layers().get(0));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(ms).isBetween(300L, 5_000L);
  }

  @Test
  void simulator_allNodesVerify_andUpstreamCountsEveryDirectPull() throws Exception {
    PullSimulator.Result r = PullSimulator.run(options(synth.url(), 5));
    assertThat(r.failed()).as(r.summary()).isZero();
    assertThat(r.upstreamBlobGets()).containsExactly(25, 5); // 5 blobs, each fetched by 5 nodes
    assertThat(r.pullMicros().getTotalCount()).isEqualTo(5);
    assertThat(PullSimulator.tsv("t", "s", r).split("\t", -1)).hasSize(PullSimulator.TSV_HEADER.split("\t").length);
  }

  @Test
  void simulator_corruptBytes_nodesFail() throws Exception {
    synth.corruptLayers = true;
    PullSimulator.Result r = PullSimulator.run(options(synth.url(), 3));
    assertThat(r.failed()).isEqualTo(3);
    assertThat(r.nodes().get(0).error()).contains("did not verify");
  }

  @Test
  void simulator_throughWharf_eachBlobFetchedUpstreamOnce(@TempDir Path store) throws Exception {
    String yaml = "listen: 127.0.0.1:0\nupstreams:\n  - name: synth\n    url: " + synth.url() + "\n"
        + "storage:\n  tiers:\n    - path: " + store + "\nserver:\n  shutdownGrace: 1s\n";
    try (WharfServer wharf = WharfServer.start(WharfConfig.parse(yaml))) {
      PullSimulator.Result r = PullSimulator.run(options("http://127.0.0.1:" + wharf.port(), 8));
      assertThat(r.failed()).as(r.summary()).isZero();
      assertThat(r.upstreamBlobGets()).as(r.summary()).containsExactly(5, 1);
      assertThat(r.upstreamBytes()).isLessThan(r.clientBytes() / 4);
    }
  }

  @Test
  void synthetic_faultMode_resetsFirstGetOfEachLayerPartWay_rangeRetryGetsTheRest() throws Exception {
    SyntheticRegistry.Image img = synth.images().get(0);
    Digest layer = img.layers().get(0); // 300 KiB
    String url = synth.url() + "/v2/bench/app/blobs/" + layer;
    synth.fault(0.5);
    byte[] partial = rawGet(url, null);
    // Cut at half (the RST may drop a tail still in flight, never add to it); no complete body.
    assertThat(partial.length).isBetween(1, 150 << 10);
    HttpResponse<byte[]> rest = get(url, "Range", "bytes=" + partial.length + "-");
    assertThat(rest.statusCode()).isEqualTo(206);
    assertThat(rest.headers().firstValue("Content-Range"))
        .contains("bytes " + partial.length + "-" + ((300 << 10) - 1) + "/" + (300 << 10));
    byte[] whole = new byte[partial.length + rest.body().length];
    System.arraycopy(partial, 0, whole, 0, partial.length);
    System.arraycopy(rest.body(), 0, whole, partial.length, rest.body().length);
    assertThat(Digest.sha256Of(whole)).isEqualTo(layer);
    // Only the first GET of each layer: the next full GET is whole, the config is never cut.
    assertThat(Digest.sha256Of(get(url).body())).isEqualTo(layer);
    assertThat(Digest.sha256Of(get(synth.url() + "/v2/bench/app/blobs/" + img.config()).body()))
        .isEqualTo(img.config());
    String counters = new String(get(synth.url() + "/_bench/counters").body());
    assertThat(counters).contains("\"resets\":1,").contains("\"" + layer + "\":{\"get\":3")
        .contains("\"range\":1,\"resets\":1}");
    // Switching it on again cuts the first GET once more; off serves everything.
    synth.fault(0.5);
    assertThat(rawGet(url, null).length).isLessThan(300 << 10);
    synth.fault(0);
    assertThat(Digest.sha256Of(get(synth.url() + "/v2/bench/app/blobs/" + img.layers().get(1)).body()))
        .isEqualTo(img.layers().get(1));
  }

  /** GET with a plain socket: the body bytes read until the connection ends, however it ends. */
  private static byte[] rawGet(String url, String range) throws Exception {
    URI u = URI.create(url);
    try (java.net.Socket s = new java.net.Socket(u.getHost(), u.getPort())) {
      s.getOutputStream().write(("GET " + u.getPath() + " HTTP/1.1\r\nHost: x\r\n"
          + (range == null ? "" : "Range: " + range + "\r\n") + "\r\n")
          .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
      byte[] buf = new byte[65536];
      try {
        for (int n; (n = s.getInputStream().read(buf)) > 0; ) {
          all.write(buf, 0, n);
        }
      } catch (java.net.SocketException reset) {
        // the point of the fault mode
      }
      byte[] b = all.toByteArray();
      SlowClients.Head h = SlowClients.parseHead(b, b.length);
      assertThat(h).isNotNull();
      return java.util.Arrays.copyOfRange(b, h.bodyOffset(), b.length);
    }
  }

  @Test
  void simulator_failingUpstream_throughWharf_allNodesVerify_andResumeInsteadOfRefetch(
      @TempDir Path store) throws Exception {
    synth.fault(0.5);
    try (WharfServer wharf = WharfServer.start(WharfConfig.parse(wharfYaml(store)))) {
      PullSimulator.Result r = PullSimulator.run(options("http://127.0.0.1:" + wharf.port(), 6));
      assertThat(r.failed()).as(r.summary()).isZero();
      assertThat(r.upstreamResets()).as(r.summary()).isEqualTo(4); // every layer cut once
      assertThat(r.upstreamRangeGets()).as(r.summary()).isEqualTo(4); // and resumed
      // A re-fetch from byte 0 would cost 1.5 copies (half, then all); a resume costs one copy
      // plus whatever the reset threw away in flight.
      assertThat(r.upstreamBytes()).as(r.summary()).isGreaterThanOrEqualTo(r.imageBytes())
          .isLessThan(r.imageBytes() * 3 / 2);
    }
  }

  @Test
  void simulator_zipfOverImages_throughWharf_nodesSpread_eachBlobFetchedOnce(@TempDir Path store)
      throws Exception {
    List<SyntheticRegistry.ImageSpec> specs = new java.util.ArrayList<>();
    List<String> names = new java.util.ArrayList<>();
    for (int i = 0; i < 6; i++) {
      specs.add(SyntheticRegistry.ImageSpec.parse("bench/z" + i + ":v1=64k,32k"));
      names.add("bench/z" + i + ":v1");
    }
    try (SyntheticRegistry many = SyntheticRegistry.start(specs, "127.0.0.1", 0, 0, Duration.ZERO)) {
      String yaml = "listen: 127.0.0.1:0\nupstreams:\n  - name: synth\n    url: " + many.url() + "\n"
          + "storage:\n  tiers:\n    - path: " + store + "\nserver:\n  shutdownGrace: 1s\n";
      try (WharfServer wharf = WharfServer.start(WharfConfig.parse(yaml))) {
        PullSimulator.Options o = new PullSimulator.Options(URI.create("http://127.0.0.1:" + wharf.port()),
            names, 40, 3, Duration.ofSeconds(30), URI.create(many.url() + "/_bench/counters"), 2, 1.0, 42);
        PullSimulator.Result r = PullSimulator.run(o);
        assertThat(r.failed()).as(r.summary()).isZero();
        int[] draw = o.assignment();
        long distinct = java.util.Arrays.stream(draw).distinct().count();
        assertThat(r.distinctImages()).isEqualTo(distinct).isGreaterThan(1);
        assertThat(r.imageBlobs()).hasSize((int) distinct * 3); // config + 2 layers each
        assertThat(r.upstreamBlobGets()).as(r.summary()).containsExactly(distinct * 3, 1);
        assertThat(r.upstreamBytes()).isEqualTo(r.imageBytes());
        assertThat(r.imageSpread()).startsWith("bench/z0:v1=");
        assertThat(PullSimulator.tsv("t", "s", r).split("\t", -1))
            .hasSize(PullSimulator.TSV_HEADER.split("\t").length);
      }
    }
  }

  @Test
  void simulator_twoRegistries_nodesSpreadRoundRobin() throws Exception {
    SyntheticRegistry.Image img = synth.images().get(0);
    try (SyntheticRegistry other = SyntheticRegistry.start(List.of(img.spec()), "127.0.0.1", 0, 0,
        Duration.ZERO)) {
      PullSimulator.Result r = PullSimulator.run(new PullSimulator.Options(
          List.of(URI.create(synth.url()), URI.create(other.url())), List.of("bench/app:v1"), 7, 3,
          Duration.ofSeconds(30), null, 2, 1.0, 42));
      assertThat(r.failed()).as(r.summary()).isZero();
      // nodes 0, 2, 4, 6 through the first, 1, 3, 5 through the second
      assertThat(synth.blobGets(img.config())).isEqualTo(4);
      assertThat(other.blobGets(img.config())).isEqualTo(3);
      assertThat(r.summary()).contains("spread round-robin over 2 registries");
    }
  }

  @Test
  void slowClients_throughWharf_allHeld_drainedOnesVerify_heapSampled(@TempDir Path store)
      throws Exception {
    try (WharfServer wharf = WharfServer.start(WharfConfig.parse(wharfYaml(store)))) {
      String registry = "http://127.0.0.1:" + wharf.port();
      SlowClients.Result r = SlowClients.run(new SlowClients.Options(URI.create(registry),
          "bench/app:v1", 40, 20_000, Duration.ofSeconds(3), 5, URI.create(registry + "/metrics"),
          ProcessHandle.current().pid(), 1400, 8192, 10));
      assertThat(r.errors()).as(r.summary()).isZero();
      assertThat(r.held()).as(r.summary()).isEqualTo(40);
      assertThat(r.blobBytes()).isEqualTo(300 << 10); // the largest layer
      assertThat(r.minReceived()).as(r.summary()).isPositive().isLessThan(300 << 10);
      assertThat(r.fullChecked()).isEqualTo(5);
      assertThat(r.fullOk()).as(r.summary()).isEqualTo(5);
      assertThat(r.heapMax()).as(r.summary()).isPositive();
      assertThat(r.rssMax()).as(r.summary()).isGreaterThan(r.heapMax() / 4);
      assertThat(synth.blobGets(synth.images().get(0).layers().get(0))).isEqualTo(1);
    }
  }

  @Test
  void slowClients_tokenUpstreamDirect_answerTheChallenge_allHeld() throws Exception {
    synth.tokenAuth(true);
    SlowClients.Result r = SlowClients.run(new SlowClients.Options(URI.create(synth.url()),
        "bench/app:v1", 5, 20_000, Duration.ofSeconds(1), 5, null, 0, 1400, 8192, 10));
    assertThat(r.held()).as(r.summary()).isEqualTo(5);
    assertThat(r.fullOk()).as(r.summary()).isEqualTo(5);
    assertThat(new String(get(synth.url() + "/_bench/counters").body())).contains("\"tokens\":1");
  }

  @Test
  void slowClients_wrongBytes_counted() throws Exception {
    synth.corruptLayers = true; // the reference is fetched corrupt too; then it must not hash
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> SlowClients.run(new SlowClients.Options(
        URI.create(synth.url()), "bench/app:v1", 2, 20_000, Duration.ofSeconds(1), 1, null, 0,
        1400, 8192, 10))).isInstanceOf(java.io.IOException.class).hasMessageContaining("blobs/");
  }

  @Test
  void synthetic_tokenMode_challengesWithoutToken_servesWithOne() throws Exception {
    synth.tokenAuth(true);
    HttpResponse<byte[]> denied = get(synth.url() + "/v2/bench/app/manifests/v1");
    assertThat(denied.statusCode()).isEqualTo(401);
    String challenge = denied.headers().firstValue("WWW-Authenticate").orElseThrow();
    assertThat(PullSimulator.challengeParams(challenge)).containsEntry("realm", synth.url() + "/token")
        .containsEntry("service", "synth").containsEntry("scope", "repository:bench/app:pull");
    assertThat(get(synth.url() + "/v2/bench/app/manifests/v1", "Authorization", "Bearer forged")
        .statusCode()).isEqualTo(401);
    String token = new com.fasterxml.jackson.databind.ObjectMapper()
        .readTree(get(synth.url() + "/token?service=synth&scope=repository:bench/app:pull").body())
        .path("token").asText();
    assertThat(get(synth.url() + "/v2/bench/app/manifests/v1", "Authorization", "Bearer " + token)
        .statusCode()).isEqualTo(200);
    assertThat(new String(get(synth.url() + "/_bench/counters").body())).contains("\"tokens\":1");
  }

  @Test
  void simulator_tokenUpstream_directAndThroughWharf_allNodesVerify(@TempDir Path store) throws Exception {
    synth.tokenAuth(true);
    PullSimulator.Result direct = PullSimulator.run(options(synth.url(), 3));
    assertThat(direct.failed()).as(direct.summary()).isZero();
    assertThat(new String(get(synth.url() + "/_bench/counters").body())).contains("\"tokens\":3");
    synth.resetCounters();
    try (WharfServer wharf = WharfServer.start(WharfConfig.parse(wharfYaml(store)))) {
      PullSimulator.Result r = PullSimulator.run(options("http://127.0.0.1:" + wharf.port(), 5));
      assertThat(r.failed()).as(r.summary()).isZero();
      assertThat(r.upstreamBlobGets()).as(r.summary()).containsExactly(5, 1);
      assertThat(r.counters().path("tokens").asLong()).isPositive(); // Wharf fetched the token
    }
  }

  private String wharfYaml(Path store) {
    return "listen: 127.0.0.1:0\nupstreams:\n  - name: synth\n    url: " + synth.url() + "\n"
        + "storage:\n  tiers:\n    - path: " + store + "\nserver:\n  shutdownGrace: 1s\n";
  }

  private PullSimulator.Options options(String registry, int nodes) {
    return PullSimulator.Options.single(URI.create(registry), "bench/app", "v1", nodes, 3,
        Duration.ofSeconds(30), URI.create(synth.url() + "/_bench/counters"), 2);
  }
}
