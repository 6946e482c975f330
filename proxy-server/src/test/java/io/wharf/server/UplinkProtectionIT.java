package io.wharf.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.wharf.core.oci.Digest;
import io.wharf.core.testing.TestImages;
import io.wharf.server.testing.TestClient;
import io.wharf.server.testing.WharfOnScriptedUpstream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Connection caps, bandwidth caps and the circuit breaker, seen from a client. */
@Timeout(60)
class UplinkProtectionIT extends WharfOnScriptedUpstream {

  private void start(String upstreamYaml) {
    start("", "    retries: 0\n" + upstreamYaml, "");
  }

  @Test
  void slotsBusy_beyondQueueTimeout_503WithRetryAfter_thenServedOnceFree() throws Exception {
    byte[] slow = TestImages.bytes(1, 1 << 20);
    Digest ds = upstream.putBlob(slow);
    upstream.script(ds).gate = new CountDownLatch(1);
    upstream.script(ds).gateAfter = 1000;
    byte[] other = TestImages.bytes(2, 1000);
    Digest dother = upstream.putBlob(other);
    start("    maxConnections: 1\n    queueTimeout: 300ms\n");

    CompletableFuture<TestClient.Result> holding = client.getHashed("/v2/app/blobs/" + ds);
    await().until(() -> upstream.blobGets(ds) == 1);
    HttpResponse<byte[]> refused = client.get("/v2/app/blobs/" + dother);
    assertThat(refused.statusCode()).isEqualTo(503);
    assertThat(refused.headers().firstValue("Retry-After")).isPresent();
    assertThat(new String(refused.body(), StandardCharsets.UTF_8)).contains("connection slots");
    assertThat(upstream.blobGets(dother)).isZero();

    upstream.script(ds).gate.countDown();
    assertThat(holding.get().digest()).isEqualTo(ds.toString());
    assertThat(client.get("/v2/app/blobs/" + dother).body()).isEqualTo(other);
  }

  @Test
  void breaker_opensAfterFailures_failsFastWithoutUpstream_servesCachedTagMeanwhile()
      throws Exception {
    TestImages.Image img = TestImages.image(3, 10);
    TestImages.publish(upstream, "app", "v1", img);
    byte[] broken = TestImages.bytes(4, 1000);
    Digest db = upstream.putBlob(broken);
    upstream.script(db).status = 503;
    start("    breakerFailures: 2\n    breakerOpenFor: 60s\n    tagTtl: 0s\n");

    assertThat(client.get("/v2/app/manifests/v1").statusCode()).isEqualTo(200);
    assertThat(client.get("/v2/app/blobs/" + db).statusCode()).isEqualTo(503);
    assertThat(client.get("/v2/app/blobs/" + db).statusCode()).isEqualTo(503);
    int before = upstream.blobGets(db);
    HttpResponse<byte[]> fast = client.get("/v2/app/blobs/" + db);
    assertThat(fast.statusCode()).isEqualTo(503);
    assertThat(new String(fast.body(), StandardCharsets.UTF_8)).contains("circuit breaker open");
    assertThat(fast.headers().firstValue("Retry-After")).isPresent();
    assertThat(upstream.blobGets(db)).as("no upstream request while open").isEqualTo(before);

    int heads = upstream.count("HEAD /v2/app/manifests/v1");
    HttpResponse<byte[]> stale = client.get("/v2/app/manifests/v1");
    assertThat(stale.statusCode()).isEqualTo(200);
    assertThat(stale.body()).isEqualTo(img.manifest());
    assertThat(stale.headers().firstValue("Warning")).isPresent();
    assertThat(upstream.count("HEAD /v2/app/manifests/v1")).isEqualTo(heads);
    String metrics = new String(client.get("/metrics").body(), StandardCharsets.UTF_8);
    assertThat(metrics).contains("wharf_upstream_breaker_open{upstream=\"up\"} 1.0");
  }

  @Test
  void bandwidthCap_downloadStillComplete() throws Exception {
    byte[] blob = TestImages.bytes(5, 3 << 20);
    Digest d = upstream.putBlob(blob);
    start("    maxBandwidth: 8MiB\n");
    TestClient.Result r = client.getHashed("/v2/app/blobs/" + d).get();
    assertThat(r.digest()).isEqualTo(d.toString());
    assertThat(upstream.blobGets(d)).isEqualTo(1);
  }
}
