package io.wharf.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.core.oci.Digest;
import io.wharf.core.testing.TestImages;
import io.wharf.server.testing.TestClient;
import io.wharf.server.testing.WharfOnScriptedUpstream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Per-repository authorization of cached content: a blob or manifest cached for one repository is
 * served through another only if the upstream confirms that repository holds it.
 */
@Timeout(60)
class RepositoryLinksIT extends WharfOnScriptedUpstream {

  private static String text(HttpResponse<byte[]> r) {
    return new String(r.body(), StandardCharsets.UTF_8);
  }

  private int upstreamRequests() {
    return upstream.counts().values().stream().mapToInt(Integer::intValue).sum();
  }

  @Test
  void cachedBlob_otherRepository_confirmedUpstreamBeforeServing() throws Exception {
    byte[] body = TestImages.bytes(1, 50_000);
    Digest d = upstream.putBlob(body);
    upstream.onlyIn(d, "a", "c");
    start("", "", "");

    assertThat(client.get("/v2/a/blobs/" + d).body()).isEqualTo(body);
    assertThat(upstream.blobGets(d)).isEqualTo(1);

    // Repository b does not have it upstream: 404, and not a byte of the cached blob.
    for (int i = 0; i < 3; i++) {
      HttpResponse<byte[]> b = client.get("/v2/b/blobs/" + d);
      assertThat(b.statusCode()).isEqualTo(404);
      assertThat(text(b)).contains("BLOB_UNKNOWN").doesNotContain(new String(body, StandardCharsets.ISO_8859_1));
      assertThat(b.body().length).isLessThan(1000);
    }
    assertThat(client.head("/v2/b/blobs/" + d).statusCode()).isEqualTo(404);
    assertThat(upstream.count("HEAD /v2/b/blobs/" + d))
        .as("a no is remembered: repeated probes cost one upstream HEAD").isEqualTo(1);

    // Repository c has it upstream: confirmed once, served from cache, linked.
    assertThat(client.get("/v2/c/blobs/" + d).body()).isEqualTo(body);
    assertThat(upstream.count("HEAD /v2/c/blobs/" + d)).isEqualTo(1);
    int before = upstreamRequests();
    assertThat(client.get("/v2/c/blobs/" + d).body()).isEqualTo(body);
    assertThat(client.head("/v2/c/blobs/" + d).statusCode()).isEqualTo(200);
    assertThat(upstreamRequests()).as("linked now: no upstream request").isEqualTo(before);
    assertThat(upstream.blobGets(d)).as("the bytes were fetched once").isEqualTo(1);
    assertThat(server.services().repositories().links().isLinked("up", "c", d)).isTrue();
    assertThat(server.services().repositories().links().isLinked("up", "b", d)).isFalse();
  }

  @Test
  void privateRepository_denied403_noBytes() throws Exception {
    byte[] body = TestImages.bytes(2, 10_000);
    Digest d = upstream.putBlob(body);
    upstream.deny("secret");
    start("", "", "");
    assertThat(client.get("/v2/pub/blobs/" + d).statusCode()).isEqualTo(200);

    HttpResponse<byte[]> r = client.get("/v2/secret/blobs/" + d);
    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(text(r)).contains("DENIED");
  }

  @Test
  void manifestByDigest_otherRepository_404_linkedByTagPull_noConfirmations() throws Exception {
    TestImages.Image img = TestImages.image(3, 20_000, 30_000);
    TestImages.publish(upstream, "team/app", "v1", img);
    upstream.onlyIn(img.layerDigest(0), "team/app");
    start("", "", "");

    // A whole pull through team/app: tag, then config and layers.
    assertThat(client.get("/v2/team/app/manifests/v1").statusCode()).isEqualTo(200);
    assertThat(client.get("/v2/team/app/blobs/" + img.configDigest()).statusCode()).isEqualTo(200);
    assertThat(client.get("/v2/team/app/blobs/" + img.layerDigest(0)).statusCode()).isEqualTo(200);
    assertThat(client.get("/v2/team/app/blobs/" + img.layerDigest(1)).statusCode()).isEqualTo(200);
    assertThat(upstream.counts().keySet()).as("the manifest linked its blobs: no HEAD")
        .noneMatch(k -> k.startsWith("HEAD"));

    // Another repository asking for the cached manifest and layer by digest.
    HttpResponse<byte[]> m = client.get("/v2/other/manifests/" + img.manifestDigest());
    assertThat(m.statusCode()).isEqualTo(404);
    assertThat(text(m)).contains("MANIFEST_UNKNOWN");
    HttpResponse<byte[]> l = client.get("/v2/other/blobs/" + img.layerDigest(0));
    assertThat(l.statusCode()).isEqualTo(404);
    assertThat(upstream.count("GET /v2/other/blobs/" + img.layerDigest(0)))
        .as("blob bytes are never fetched to answer a probe").isZero();

    // Warm pull through team/app: not one upstream request.
    int before = upstreamRequests();
    assertThat(client.get("/v2/team/app/manifests/" + img.manifestDigest()).statusCode())
        .isEqualTo(200);
    assertThat(client.get("/v2/team/app/blobs/" + img.layerDigest(1)).statusCode()).isEqualTo(200);
    assertThat(upstreamRequests()).isEqualTo(before);
  }

  @Test
  void links_surviveRestart_andServeOffline() throws Exception {
    byte[] body = TestImages.bytes(4, 40_000);
    Digest d = upstream.putBlob(body);
    upstream.onlyIn(d, "a", "c");
    start("", "", "");
    assertThat(client.get("/v2/a/blobs/" + d).statusCode()).isEqualTo(200);
    assertThat(client.get("/v2/c/blobs/" + d).statusCode()).isEqualTo(200);
    server.close();
    server = null;

    start("", "", "");
    int before = upstreamRequests();
    assertThat(client.get("/v2/c/blobs/" + d).body()).isEqualTo(body);
    assertThat(client.get("/v2/a/blobs/" + d).body()).isEqualTo(body);
    assertThat(upstreamRequests()).as("links were loaded from disk").isEqualTo(before);

    // Upstream gone: linked content is served, unlinked is not.
    upstream.close();
    assertThat(client.get("/v2/c/blobs/" + d).body()).isEqualTo(body);
    HttpResponse<byte[]> r = client.get("/v2/b/blobs/" + d);
    assertThat(r.statusCode()).isGreaterThanOrEqualTo(500);
    assertThat(r.body().length).isLessThan(2000);
    assertThat(text(r)).doesNotContain(new String(body, StandardCharsets.ISO_8859_1));
  }

  @Test
  void thousandProbes_oneUpstreamHead() throws Exception {
    byte[] body = TestImages.bytes(5, 20_000);
    Digest d = upstream.putBlob(body);
    upstream.onlyIn(d, "a", "many");
    start("", "", "");
    assertThat(client.get("/v2/a/blobs/" + d).statusCode()).isEqualTo(200);

    List<CompletableFuture<TestClient.Result>> all = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      all.add(client.getHashed("/v2/many/blobs/" + d));
    }
    for (CompletableFuture<TestClient.Result> f : all) {
      TestClient.Result r = f.get();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.digest()).isEqualTo(d.toString());
    }
    assertThat(upstream.count("HEAD /v2/many/blobs/" + d)).isEqualTo(1);
    assertThat(upstream.blobGets(d)).isEqualTo(1);
    Map<String, Integer> counts = upstream.counts();
    assertThat(counts.getOrDefault("GET /v2/many/blobs/" + d, 0)).isZero();
  }
}
