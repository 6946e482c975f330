package io.wharf.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.core.testing.TestImages;
import io.wharf.server.testing.WharfOnScriptedUpstream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Tag answers: negative caching, upstream 429, HEAD without digest, restart, empty/unknown ns. */
@Timeout(60)
class TagFreshnessIT extends WharfOnScriptedUpstream {

  private void start(String upstreamYaml, String topYaml) {
    start(topYaml, upstreamYaml, "");
  }

  @Test
  void missingTag_404Remembered_forNegativeTtl() throws Exception {
    start("    negativeTtl: 1h\n", "");
    assertThat(client.get("/v2/app/manifests/v1").statusCode()).isEqualTo(404);
    TestImages.publish(upstream, "app", "v1", TestImages.image(1, 10));
    assertThat(client.get("/v2/app/manifests/v1").statusCode()).as("404 still remembered").isEqualTo(404);
    assertThat(upstream.count("GET /v2/app/manifests/v1")).isEqualTo(1);
  }

  @Test
  void missingTag_createdUpstream_foundWhenNegativeTtlIsZero() throws Exception {
    start("    negativeTtl: 0s\n", "");
    assertThat(client.get("/v2/app/manifests/v1").statusCode()).isEqualTo(404);
    TestImages.Image img = TestImages.image(2, 10);
    TestImages.publish(upstream, "app", "v1", img);
    HttpResponse<byte[]> r = client.get("/v2/app/manifests/v1");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo(img.manifest());
  }

  @Test
  void upstream429_uncachedTag_429WithRetryAfter_cachedTag_servedStale() throws Exception {
    TestImages.Image img = TestImages.image(3, 10);
    TestImages.publish(upstream, "app", "cached", img);
    start("    tagTtl: 0s\n", "");
    assertThat(client.get("/v2/app/manifests/cached").statusCode()).isEqualTo(200);
    upstream.manifestStatus = 429;
    upstream.retryAfter = "17";
    HttpResponse<byte[]> uncached = client.get("/v2/app/manifests/other");
    assertThat(uncached.statusCode()).isEqualTo(429);
    assertThat(uncached.headers().firstValue("Retry-After")).contains("17");
    assertThat(new String(uncached.body(), StandardCharsets.UTF_8)).contains("TOOMANYREQUESTS");
    HttpResponse<byte[]> stale = client.get("/v2/app/manifests/cached");
    assertThat(stale.statusCode()).isEqualTo(200);
    assertThat(stale.body()).isEqualTo(img.manifest());
    upstream.manifestStatus = 503;
    assertThat(client.get("/v2/app/manifests/other").statusCode()).isEqualTo(503);
    upstream.manifestStatus = 0;
    assertThat(client.get("/v2/app/manifests/other").statusCode())
        .as("errors were not cached").isEqualTo(404);
  }

  @Test
  void revalidation_headWithoutDigest_fallsBackToGet() throws Exception {
    TestImages.Image img = TestImages.image(4, 10);
    TestImages.publish(upstream, "app", "v1", img);
    start("    tagTtl: 0s\n", "");
    client.get("/v2/app/manifests/v1");
    upstream.omitManifestDigest = true;
    TestImages.Image moved = TestImages.image(5, 10);
    TestImages.publish(upstream, "app", "v1", moved);
    HttpResponse<byte[]> r = client.get("/v2/app/manifests/v1");
    assertThat(r.body()).isEqualTo(moved.manifest());
    assertThat(r.headers().firstValue("Docker-Content-Digest")).contains(moved.manifestDigest().toString());
    assertThat(upstream.count("HEAD /v2/app/manifests/v1")).isEqualTo(1);
    assertThat(upstream.count("GET /v2/app/manifests/v1")).isEqualTo(2);
  }

  @Test
  void restart_tagWithinTtl_servedWithoutUpstream_evenWhenUpstreamIsDown() throws Exception {
    TestImages.Image img = TestImages.image(6, 10);
    TestImages.publish(upstream, "app", "v1", img);
    start("    tagTtl: 1h\n", "");
    assertThat(client.get("/v2/app/manifests/v1").statusCode()).isEqualTo(200);
    server.close();
    upstream.close();
    start("    tagTtl: 1h\n", "");
    HttpResponse<byte[]> r = client.get("/v2/app/manifests/v1");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo(img.manifest());
    // And the expired case after a restart: served stale from the persisted record.
    server.close();
    start("    tagTtl: 0s\n", "");
    assertThat(client.get("/v2/app/manifests/v1").body()).isEqualTo(img.manifest());
  }

  @Test
  void emptyOrUnknownNs_rejectedByDefault_orRoutedToDefaultWhenConfigured() throws Exception {
    TestImages.Image img = TestImages.image(7, 10);
    TestImages.publish(upstream, "app", "v1", img);
    start("", "");
    HttpResponse<byte[]> empty = client.get("/v2/app/manifests/v1?ns=");
    assertThat(empty.statusCode()).isEqualTo(404);
    assertThat(new String(empty.body(), StandardCharsets.UTF_8)).contains("NAME_UNKNOWN", "empty");
    server.close();
    start("", "unknownRegistry: default\n");
    assertThat(client.get("/v2/app/manifests/v1?ns=elsewhere.example").body()).isEqualTo(img.manifest());
    assertThat(client.get("/v2/app/manifests/v1?ns=").statusCode()).isEqualTo(200);
  }
}
