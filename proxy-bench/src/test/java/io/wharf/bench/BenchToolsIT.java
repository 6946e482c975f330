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

  private PullSimulator.Options options(String registry, int nodes) {
    return new PullSimulator.Options(URI.create(registry), "bench/app", "v1", nodes, 3,
        Duration.ofSeconds(30), URI.create(synth.url() + "/_bench/counters"), 2);
  }
}
