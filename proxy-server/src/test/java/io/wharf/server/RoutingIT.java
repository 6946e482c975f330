package io.wharf.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.core.config.WharfConfig;
import io.wharf.core.oci.Digest;
import io.wharf.core.oci.MediaTypes;
import io.wharf.core.testing.ScriptedUpstream;
import io.wharf.core.testing.TestImages;
import io.wharf.server.testing.TestClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Two upstreams: selection by ns, by path prefix and by default; Accept negotiation; passthroughs. */
@Timeout(60)
class RoutingIT {
  @TempDir Path store;
  ScriptedUpstream a;
  ScriptedUpstream b;
  WharfServer server;
  TestClient client;

  @BeforeEach
  void setUp() throws Exception {
    a = new ScriptedUpstream();
    b = new ScriptedUpstream();
    String yaml = "listen: 127.0.0.1:0\n"
        + "externalUrl: http://wharf.test:5000\n"
        + "defaultUpstream: reg-a\n"
        + "upstreams:\n"
        + "  - name: reg-a\n    url: " + a.url() + "\n"
        + "  - name: reg-b\n    url: " + b.url() + "\n    hosts: ['registry-b.example:5050']\n"
        + "storage:\n  tiers:\n    - path: " + store + "\n";
    server = WharfServer.start(WharfConfig.parse(yaml));
    client = new TestClient(server.port());
  }

  @AfterEach
  void tearDown() throws Exception {
    server.close();
    a.close();
    b.close();
  }

  private static String body(HttpResponse<byte[]> r) {
    return new String(r.body(), StandardCharsets.UTF_8);
  }

  @Test
  void route_byNs_byPrefix_byDefault() throws Exception {
    TestImages.Image ia = TestImages.image(1, 10);
    TestImages.Image ib = TestImages.image(2, 10);
    TestImages.publish(a, "team/app", "v1", ia);
    TestImages.publish(b, "team/app", "v1", ib);

    assertThat(client.get("/v2/team/app/manifests/v1").body()).isEqualTo(ia.manifest());
    assertThat(client.get("/v2/team/app/manifests/v1?ns=registry-b.example:5050").body())
        .isEqualTo(ib.manifest());
    assertThat(client.get("/v2/team/app/manifests/v1?ns=reg-b").body()).isEqualTo(ib.manifest());
    assertThat(client.get("/v2/reg-b/team/app/manifests/v1").body()).isEqualTo(ib.manifest());
    assertThat(client.get("/v2/reg-a/team/app/manifests/v1").body()).isEqualTo(ia.manifest());
    assertThat(b.count("GET /v2/team/app/manifests/v1")).isEqualTo(1);
    assertThat(a.count("GET /v2/team/app/manifests/v1")).isEqualTo(1);
  }

  @Test
  void route_unknownNs_404NamingIt_upstreamsUntouched() throws Exception {
    HttpResponse<byte[]> r = client.get("/v2/team/app/manifests/v1?ns=quay.io");
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(body(r)).contains("NAME_UNKNOWN").contains("quay.io");
    assertThat(a.counts()).isEmpty();
    assertThat(b.counts()).isEmpty();
  }

  @Test
  void blobs_sharedAcrossUpstreams_byDigest() throws Exception {
    byte[] blob = TestImages.bytes(3, 50_000);
    Digest d = a.putBlob(blob);
    b.putBlob(blob);
    assertThat(client.get("/v2/x/blobs/" + d).body()).isEqualTo(blob);
    assertThat(client.get("/v2/reg-b/y/blobs/" + d).body()).isEqualTo(blob);
    assertThat(a.blobGets(d)).isEqualTo(1);
    assertThat(b.blobGets(d)).isZero();
  }

  @Test
  void accept_manifestTypeNotAccepted_404_neverTheWrongType() throws Exception {
    TestImages.Image img = TestImages.image(4, 10);
    TestImages.publish(a, "app", "v1", img);
    HttpResponse<byte[]> ok = client.get("/v2/app/manifests/v1", "Accept", MediaTypes.OCI_MANIFEST);
    assertThat(ok.statusCode()).isEqualTo(200);
    HttpResponse<byte[]> wrong = client.get("/v2/app/manifests/" + img.manifestDigest(),
        "Accept", MediaTypes.DOCKER_MANIFEST);
    assertThat(wrong.statusCode()).isEqualTo(404);
    assertThat(body(wrong)).contains("MANIFEST_UNKNOWN").contains(MediaTypes.OCI_MANIFEST);
    HttpResponse<byte[]> wildcard = client.get("/v2/app/manifests/v1", "Accept", "*/*");
    assertThat(wildcard.statusCode()).isEqualTo(200);
  }

  @Test
  void accept_severalHeaderLines_readAsOneList() throws Exception {
    byte[] index = ("{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypes.OCI_INDEX
        + "\",\"manifests\":[]}").getBytes(StandardCharsets.UTF_8);
    Digest d = a.putManifest("multi", "v1", MediaTypes.OCI_INDEX, index);
    // podman/skopeo send one Accept line per type; the index type is not on the first line.
    HttpResponse<byte[]> r = client.get("/v2/multi/manifests/" + d,
        "Accept", MediaTypes.OCI_MANIFEST, "Accept", MediaTypes.OCI_INDEX);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo(index);
    HttpResponse<byte[]> byTag = client.get("/v2/multi/manifests/v1",
        "Accept", MediaTypes.DOCKER_MANIFEST, "Accept", MediaTypes.OCI_INDEX);
    assertThat(byTag.statusCode()).isEqualTo(200);
    assertThat(a.lastHeader("GET /v2/multi/manifests/v1", "accept")).contains(MediaTypes.OCI_INDEX);
  }

  @Test
  void headAndGet_sameAccept_sameDigest() throws Exception {
    TestImages.Image img = TestImages.image(5, 10);
    TestImages.publish(a, "app", "v1", img);
    String accept = MediaTypes.OCI_INDEX + ", " + MediaTypes.OCI_MANIFEST;
    HttpResponse<byte[]> head = client.head("/v2/app/manifests/v1", "Accept", accept);
    HttpResponse<byte[]> get = client.get("/v2/app/manifests/v1", "Accept", accept);
    assertThat(head.headers().firstValue("Docker-Content-Digest"))
        .isEqualTo(get.headers().firstValue("Docker-Content-Digest"))
        .contains(Digest.sha256Of(get.body()).toString());
  }

  @Test
  void tagsList_paginated_linkRewrittenToWharf() throws Exception {
    for (String t : new String[] {"a1", "a2", "a3"}) {
      b.putManifest("team/app", t, MediaTypes.OCI_MANIFEST, ("{\"t\":\"" + t + "\"}").getBytes(StandardCharsets.UTF_8));
    }
    HttpResponse<byte[]> page1 = client.get("/v2/reg-b/team/app/tags/list?n=2");
    assertThat(page1.statusCode()).isEqualTo(200);
    assertThat(body(page1)).contains("\"a1\"", "\"a2\"").doesNotContain("\"a3\"");
    assertThat(page1.headers().firstValue("Link"))
        .contains("<http://wharf.test:5000/v2/reg-b/team/app/tags/list?last=a2&n=2>; rel=\"next\"");
    assertThat(b.lastQuery("GET /v2/team/app/tags/list")).isEqualTo("n=2");
    HttpResponse<byte[]> page2 = client.get("/v2/reg-b/team/app/tags/list?last=a2&n=2");
    assertThat(body(page2)).contains("\"a3\"");
    assertThat(page2.headers().firstValue("Link")).isEmpty();
  }

  @Test
  void referrers_passedThroughWithFilter_cached_and404Kept() throws Exception {
    Digest subject = Digest.sha256Of("subject".getBytes(StandardCharsets.UTF_8));
    String index = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[]}";
    a.putReferrers("app", subject, index);
    String path = "/v2/app/referrers/" + subject + "?artifactType=application%2Fvnd.example";
    HttpResponse<byte[]> r1 = client.get(path);
    HttpResponse<byte[]> r2 = client.get(path);
    assertThat(r1.statusCode()).isEqualTo(200);
    assertThat(body(r2)).isEqualTo(index);
    assertThat(r1.headers().firstValue("Content-Type")).contains(MediaTypes.OCI_INDEX);
    assertThat(a.count("GET /v2/app/referrers/" + subject)).isEqualTo(1);
    assertThat(a.lastQuery("GET /v2/app/referrers/" + subject)).isEqualTo("artifactType=application%2Fvnd.example");
    Digest other = Digest.sha256Of("other".getBytes(StandardCharsets.UTF_8));
    assertThat(client.get("/v2/app/referrers/" + other).statusCode()).isEqualTo(404);
  }
}
