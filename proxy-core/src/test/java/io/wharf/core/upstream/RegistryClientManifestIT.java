package io.wharf.core.upstream;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.head;
import static com.github.tomakehurst.wiremock.client.WireMock.matching;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.core.oci.Digest;
import io.wharf.core.oci.ErrorCode;
import io.wharf.core.oci.MediaTypes;
import io.wharf.core.oci.Reference;
import io.wharf.core.oci.RepositoryName;
import io.wharf.core.upstream.UpstreamException.Kind;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class RegistryClientManifestIT extends UpstreamItSupport {

  static final RepositoryName NGINX = RepositoryName.of("library/nginx");
  static final byte[] INDEX = bytes("{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypes.OCI_INDEX + "\",\"manifests\":[]}");

  @Test
  void getManifest_anonymous_returnsBodyTypeAndDigests() throws Exception {
    Digest d = Digest.sha256Of(INDEX);
    registry.stubFor(get(urlEqualTo("/v2/library/nginx/manifests/1.27"))
        .willReturn(aResponse().withStatus(200)
            .withHeader("Content-Type", MediaTypes.OCI_INDEX + "; charset=utf-8")
            .withHeader("Docker-Content-Digest", d.toString())
            .withBody(INDEX)));

    ManifestResponse r = await(client().getManifest(NGINX, Reference.parse("1.27"), null));

    assertThat(r.body()).isEqualTo(INDEX);
    assertThat(r.mediaType()).isEqualTo(MediaTypes.OCI_INDEX);
    assertThat(r.digest()).isEqualTo(d);
    assertThat(r.upstreamDigest()).isEqualTo(d);
    registry.verify(1, getRequestedFor(urlEqualTo("/v2/library/nginx/manifests/1.27"))
        .withHeader("Accept", equalTo(String.join(", ", MediaTypes.ALL_MANIFESTS)))
        .withHeader("Accept-Encoding", equalTo("identity"))
        .withHeader("User-Agent", matching("wharf/.+"))
        .withoutHeader("Authorization"));
    assertThat(requests("manifest", "ok")).isEqualTo(1);
  }

  @Test
  void getManifest_clientAccept_sentAsIs_missingOrInvalidDigestHeader_null() throws Exception {
    registry.stubFor(get(urlEqualTo("/v2/library/nginx/manifests/a"))
        .willReturn(aResponse().withHeader("Content-Type", MediaTypes.DOCKER_MANIFEST).withBody(INDEX)));
    registry.stubFor(get(urlEqualTo("/v2/library/nginx/manifests/b"))
        .willReturn(aResponse().withHeader("Docker-Content-Digest", "sha256:nothex").withBody(INDEX)));

    ManifestResponse a = await(client().getManifest(NGINX, Reference.parse("a"), MediaTypes.DOCKER_MANIFEST));
    ManifestResponse b = await(client().getManifest(NGINX, Reference.parse("b"), " "));

    assertThat(a.upstreamDigest()).isNull();
    assertThat(a.mediaType()).isEqualTo(MediaTypes.DOCKER_MANIFEST);
    assertThat(b.upstreamDigest()).isNull();
    assertThat(b.mediaType()).isNull();
    registry.verify(getRequestedFor(urlEqualTo("/v2/library/nginx/manifests/a"))
        .withHeader("Accept", equalTo(MediaTypes.DOCKER_MANIFEST)));
    registry.verify(getRequestedFor(urlEqualTo("/v2/library/nginx/manifests/b"))
        .withHeader("Accept", equalTo(String.join(", ", MediaTypes.ALL_MANIFESTS))));
  }

  @Test
  void headManifest_returnsDigestHeaderTypeAndSize() throws Exception {
    Digest d = Digest.sha256Of(INDEX);
    registry.stubFor(head(urlEqualTo("/v2/library/nginx/manifests/1.27"))
        .willReturn(aResponse()
            .withHeader("Content-Type", MediaTypes.OCI_INDEX)
            .withHeader("Content-Length", "1234")
            .withHeader("Docker-Content-Digest", d.toString())));
    registry.stubFor(head(urlEqualTo("/v2/library/nginx/manifests/nodigest"))
        .willReturn(aResponse().withHeader("Content-Type", MediaTypes.OCI_MANIFEST)));

    ManifestHead h = await(client().headManifest(NGINX, Reference.parse("1.27"), null));
    ManifestHead n = await(client().headManifest(NGINX, Reference.parse("nodigest"), null));

    assertThat(h).isEqualTo(new ManifestHead(d, MediaTypes.OCI_INDEX, 1234));
    assertThat(n.digest()).isNull();
    assertThat(n.mediaType()).isEqualTo(MediaTypes.OCI_MANIFEST);
  }

  @Test
  void getManifest_byDigestBodyMismatch_badResponse() {
    Digest wanted = Digest.sha256Of(bytes("something else"));
    registry.stubFor(get(urlEqualTo("/v2/library/nginx/manifests/" + wanted))
        .willReturn(aResponse().withBody(INDEX)));

    UpstreamException e = failure(client().getManifest(NGINX, new Reference.ByDigest(wanted), null));

    assertThat(e.kind()).isEqualTo(Kind.BAD_RESPONSE);
    assertThat(e.status()).isEqualTo(502);
    assertThat(e.getMessage()).contains("does not match");
    assertThat(requests("manifest", "bad_response")).isEqualTo(1);
  }

  @Test
  void getManifest_bodyOver4MiB_badResponse() {
    byte[] huge = new byte[4 * 1024 * 1024 + 1];
    Arrays.fill(huge, (byte) 'x');
    registry.stubFor(get(urlEqualTo("/v2/library/nginx/manifests/huge")).willReturn(aResponse().withBody(huge)));

    UpstreamException e = failure(client().getManifest(NGINX, Reference.parse("huge"), null));

    assertThat(e.kind()).isEqualTo(Kind.BAD_RESPONSE);
    assertThat(e.getMessage()).contains("limit");
  }

  @Test
  void getManifest_bodyOver4MiBChunked_badResponse() {
    byte[] huge = new byte[5 * 1024 * 1024];
    registry.stubFor(get(urlEqualTo("/v2/library/nginx/manifests/chunked"))
        .willReturn(aResponse().withBody(huge).withChunkedDribbleDelay(4, 1)));

    UpstreamException e = failure(client().getManifest(NGINX, Reference.parse("chunked"), null));

    assertThat(e.kind()).isEqualTo(Kind.BAD_RESPONSE);
    assertThat(e.getMessage()).contains("limit");
  }

  @Test
  void getManifest_404_notFoundManifestUnknown_messageNamesAction() {
    registry.stubFor(get(urlPathEqualTo("/v2/library/nginx/manifests/1.27")).willReturn(aResponse().withStatus(404)));

    UpstreamException e = failure(client().getManifest(NGINX, Reference.parse("1.27"), null));

    assertThat(e.kind()).isEqualTo(Kind.NOT_FOUND);
    assertThat(e.code()).isEqualTo(ErrorCode.MANIFEST_UNKNOWN);
    assertThat(e.status()).isEqualTo(404);
    assertThat(e.upstream()).isEqualTo(UPSTREAM);
    assertThat(e.getMessage()).startsWith("fetch manifest library/nginx:1.27 from test.reg: ");
    assertThat(requests("manifest", "not_found")).isEqualTo(1);
  }
}
