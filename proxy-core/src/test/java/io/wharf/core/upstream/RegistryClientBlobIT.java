package io.wharf.core.upstream;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.absent;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.head;
import static com.github.tomakehurst.wiremock.client.WireMock.headRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import io.micrometer.core.instrument.Counter;
import io.wharf.core.config.Credentials;
import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.oci.Digest;
import io.wharf.core.oci.ErrorCode;
import io.wharf.core.oci.RepositoryName;
import io.wharf.core.upstream.UpstreamException.Kind;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RegistryClientBlobIT extends UpstreamItSupport {

  static final RepositoryName REPO = RepositoryName.of("team/app");
  static final byte[] BLOB = new byte[300_000];
  static final Digest DIGEST;

  static {
    new Random(42).nextBytes(BLOB);
    DIGEST = Digest.sha256Of(BLOB);
  }

  static final String BLOB_PATH = "/v2/team/app/blobs/" + DIGEST;
  static final Credentials STATIC = new Credentials(null, null, null, null, null, "registry-secret", null, null);

  @Test
  void getBlob_whole_bodyAndLength_bytesCounted() throws Exception {
    registry.stubFor(get(urlEqualTo(BLOB_PATH)).willReturn(aResponse().withBody(BLOB)));

    BlobStream s = await(client().getBlob(REPO, DIGEST, 0));

    assertThat(s.startOffset()).isZero();
    assertThat(s.totalLength()).isEqualTo(BLOB.length);
    assertThat(readAll(s)).isEqualTo(BLOB);
    registry.verify(getRequestedFor(urlEqualTo(BLOB_PATH))
        .withHeader("Range", absent())
        .withHeader("Accept-Encoding", equalTo("identity")));
    Counter bytes = meterRegistry.find(WharfMeters.UPSTREAM_BYTES).tag("upstream", UPSTREAM).counter();
    assertThat(bytes).isNotNull();
    assertThat(bytes.count()).isEqualTo(BLOB.length);
    assertThat(requests("blob", "ok")).isEqualTo(1);
  }

  @Test
  void getBlob_withOffset_rangeSent_206Parsed() throws Exception {
    long offset = 100_000;
    byte[] tail = Arrays.copyOfRange(BLOB, (int) offset, BLOB.length);
    registry.stubFor(get(urlEqualTo(BLOB_PATH)).withHeader("Range", equalTo("bytes=100000-"))
        .willReturn(aResponse().withStatus(206)
            .withHeader("Content-Range", "bytes 100000-" + (BLOB.length - 1) + "/" + BLOB.length)
            .withBody(tail)));

    BlobStream s = await(client().getBlob(REPO, DIGEST, offset));

    assertThat(s.startOffset()).isEqualTo(offset);
    assertThat(s.totalLength()).isEqualTo(BLOB.length);
    assertThat(readAll(s)).isEqualTo(tail);
  }

  @Test
  void getBlob_withOffset_upstreamIgnoresRange200_startOffsetZero() throws Exception {
    registry.stubFor(get(urlEqualTo(BLOB_PATH)).willReturn(aResponse().withStatus(200).withBody(BLOB)));

    BlobStream s = await(client().getBlob(REPO, DIGEST, 5000));

    assertThat(s.startOffset()).isZero();
    assertThat(s.totalLength()).isEqualTo(BLOB.length);
    assertThat(readAll(s)).isEqualTo(BLOB);
    registry.verify(getRequestedFor(urlEqualTo(BLOB_PATH)).withHeader("Range", equalTo("bytes=5000-")));
  }

  @Test
  void getBlob_206FromWrongOffset_badResponse() {
    registry.stubFor(get(urlEqualTo(BLOB_PATH)).willReturn(aResponse().withStatus(206)
        .withHeader("Content-Range", "bytes 0-9/" + BLOB.length)
        .withBody(Arrays.copyOf(BLOB, 10))));

    UpstreamException e = failure(client().getBlob(REPO, DIGEST, 100));

    assertThat(e.kind()).isEqualTo(Kind.BAD_RESPONSE);
    assertThat(e.status()).isEqualTo(502);
    assertThat(e.getMessage()).startsWith("fetch blob team/app@" + DIGEST + " from byte 100 from test.reg: ");
  }

  @Test
  void getBlob_416_badResponse() {
    registry.stubFor(get(urlEqualTo(BLOB_PATH)).willReturn(aResponse().withStatus(416)));

    UpstreamException e = failure(client().getBlob(REPO, DIGEST, BLOB.length));

    assertThat(e.kind()).isEqualTo(Kind.BAD_RESPONSE);
    assertThat(e.status()).isEqualTo(502);
  }

  @Test
  void getBlob_404_notFoundBlobUnknown() {
    registry.stubFor(get(urlEqualTo(BLOB_PATH)).willReturn(aResponse().withStatus(404).withBody("{\"errors\":[]}")));

    UpstreamException e = failure(client().getBlob(REPO, DIGEST, 0));

    assertThat(e.kind()).isEqualTo(Kind.NOT_FOUND);
    assertThat(e.code()).isEqualTo(ErrorCode.BLOB_UNKNOWN);
    assertThat(e.status()).isEqualTo(404);
  }

  @Test
  void getBlob_redirectToOtherHost_authorizationOnlyToRegistry() throws Exception {
    registry.stubFor(get(urlEqualTo(BLOB_PATH)).willReturn(aResponse().withStatus(307)
        .withHeader("Location", storageUrl() + "/bucket/blob?X-Amz-Signature=abc")));
    storage.stubFor(get(urlPathEqualTo("/bucket/blob")).willReturn(aResponse().withBody(BLOB)));

    BlobStream s = await(client(STATIC).getBlob(REPO, DIGEST, 7));

    assertThat(readAll(s)).isEqualTo(BLOB);
    registry.verify(1, getRequestedFor(urlEqualTo(BLOB_PATH))
        .withHeader("Authorization", equalTo("Bearer registry-secret")));
    List<LoggedRequest> atStorage = storage.findAll(getRequestedFor(urlPathEqualTo("/bucket/blob")));
    assertThat(atStorage).hasSize(1);
    assertThat(atStorage.get(0).containsHeader("Authorization")).isFalse();
    assertThat(atStorage.get(0).getHeader("Range")).isEqualTo("bytes=7-"); // other headers travel along
    assertThat(atStorage.get(0).queryParameter("X-Amz-Signature").firstValue()).isEqualTo("abc");
    assertThat(requests("blob", "redirect")).isEqualTo(1);
    assertThat(requests("blob", "ok")).isEqualTo(1);
  }

  @Test
  void getBlob_relativeRedirectOnSameOrigin_followedWithAuthorization() throws Exception {
    registry.stubFor(get(urlEqualTo(BLOB_PATH)).willReturn(aResponse().withStatus(302)
        .withHeader("Location", "../../../storage/data?x=1")));
    registry.stubFor(get(urlEqualTo("/v2/storage/data?x=1")).willReturn(aResponse().withBody(BLOB)));

    BlobStream s = await(client(STATIC).getBlob(REPO, DIGEST, 0));

    assertThat(readAll(s)).isEqualTo(BLOB);
    registry.verify(1, getRequestedFor(urlEqualTo("/v2/storage/data?x=1"))
        .withHeader("Authorization", equalTo("Bearer registry-secret")));
  }

  @Test
  void getBlob_redirectLoop_badResponseAfterFiveHops() {
    registry.stubFor(get(urlEqualTo(BLOB_PATH)).willReturn(aResponse().withStatus(302).withHeader("Location", BLOB_PATH)));

    UpstreamException e = failure(client().getBlob(REPO, DIGEST, 0));

    assertThat(e.kind()).isEqualTo(Kind.BAD_RESPONSE);
    assertThat(e.status()).isEqualTo(502);
    assertThat(e.getMessage()).contains("redirects");
    registry.verify(6, getRequestedFor(urlEqualTo(BLOB_PATH)));
  }

  @Test
  void getBlob_redirectTargetRefuses_badResponseNamingTarget() {
    registry.stubFor(get(urlEqualTo(BLOB_PATH)).willReturn(aResponse().withStatus(307)
        .withHeader("Location", storageUrl() + "/expired")));
    storage.stubFor(get(urlEqualTo("/expired")).willReturn(aResponse().withStatus(403)));

    UpstreamException e = failure(client().getBlob(REPO, DIGEST, 0));

    assertThat(e.kind()).isEqualTo(Kind.BAD_RESPONSE);
    assertThat(e.getMessage()).contains("redirect target 127.0.0.1 answered 403");
  }

  @Test
  void headBlob_sizeFromContentLength() throws Exception {
    registry.stubFor(head(urlEqualTo(BLOB_PATH)).willReturn(aResponse().withHeader("Content-Length", "300000")));

    assertThat(await(client().headBlob(REPO, DIGEST))).isEqualTo(new BlobHead(300_000));
  }

  @Test
  void headBlob_followsRedirectWithoutAuthorizationToStorage() throws Exception {
    registry.stubFor(head(urlEqualTo(BLOB_PATH)).willReturn(aResponse().withStatus(307)
        .withHeader("Location", storageUrl() + "/bucket/blob")));
    storage.stubFor(head(urlEqualTo("/bucket/blob")).willReturn(aResponse().withHeader("Content-Length", "42")));

    assertThat(await(client(STATIC).headBlob(REPO, DIGEST))).isEqualTo(new BlobHead(42));
    storage.verify(1, headRequestedFor(urlEqualTo("/bucket/blob")).withHeader("Authorization", absent()));
  }

  @Test
  void headBlob_405_fallsBackToGetHeadersOnly() throws Exception {
    registry.stubFor(head(urlEqualTo(BLOB_PATH)).willReturn(aResponse().withStatus(405)));
    registry.stubFor(get(urlEqualTo(BLOB_PATH)).willReturn(aResponse().withBody(BLOB)));

    BlobHead h = await(client().headBlob(REPO, DIGEST));

    assertThat(h.size()).isEqualTo(BLOB.length);
    registry.verify(1, headRequestedFor(urlEqualTo(BLOB_PATH)));
    registry.verify(1, getRequestedFor(urlEqualTo(BLOB_PATH)));
  }

  @Test
  void headBlob_404_notFoundWithoutGetFallback() {
    registry.stubFor(head(urlEqualTo(BLOB_PATH)).willReturn(aResponse().withStatus(404)));

    UpstreamException e = failure(client().headBlob(REPO, DIGEST));

    assertThat(e.kind()).isEqualTo(Kind.NOT_FOUND);
    assertThat(e.code()).isEqualTo(ErrorCode.BLOB_UNKNOWN);
    registry.verify(0, getRequestedFor(anyUrl()));
  }

  @Test
  void get_tagsListWithQuery_2xxAnd404PassedThrough() throws Exception {
    registry.stubFor(get(urlEqualTo("/v2/team/app/tags/list?n=2&last=a"))
        .willReturn(aResponse().withHeader("Content-Type", "application/json")
            .withHeader("Link", "</v2/team/app/tags/list?n=2&last=c>; rel=\"next\"")
            .withBody("{\"name\":\"team/app\",\"tags\":[\"b\",\"c\"]}")));
    registry.stubFor(get(urlEqualTo("/v2/team/app/referrers/" + DIGEST))
        .willReturn(aResponse().withStatus(404).withBody("{\"errors\":[{\"code\":\"NAME_UNKNOWN\"}]}")));

    RawResponse tags = await(client().get(REPO, "tags/list", "n=2&last=a", null));
    RawResponse refs = await(client().get(REPO, "referrers/" + DIGEST, null, "application/vnd.oci.image.index.v1+json"));

    assertThat(tags.status()).isEqualTo(200);
    assertThat(new String(tags.body(), java.nio.charset.StandardCharsets.UTF_8)).contains("\"tags\":[\"b\",\"c\"]");
    assertThat(tags.header("Link")).contains("rel=\"next\"");
    assertThat(tags.headers()).containsKey("content-type");
    assertThat(refs.status()).isEqualTo(404);
    assertThat(refs.body()).isNotEmpty();
    registry.verify(getRequestedFor(urlEqualTo("/v2/team/app/referrers/" + DIGEST))
        .withHeader("Accept", equalTo("application/vnd.oci.image.index.v1+json")));
    assertThat(requests("tags", "ok")).isEqualTo(1);
    assertThat(requests("referrers", "not_found")).isEqualTo(1);
  }

  @Test
  void get_500_serverError() {
    registry.stubFor(get(urlEqualTo("/v2/team/app/tags/list")).willReturn(aResponse().withStatus(500)));

    UpstreamException e = failure(client().get(REPO, "tags/list", null, null));

    assertThat(e.kind()).isEqualTo(Kind.SERVER_ERROR);
    assertThat(e.status()).isEqualTo(502);
    registry.verify(1, anyRequestedFor(anyUrl()));
  }
}
