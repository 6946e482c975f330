package io.wharf.server.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wharf.core.oci.ErrorCode;
import io.wharf.core.oci.InvalidReferenceException;
import io.wharf.core.oci.Reference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class RouteParserTest {
  private static final String D = "sha256:" + "ab".repeat(32);

  @Test
  void parse_pullEndpoints() {
    assertThat(RouteParser.parse("/v2/")).isInstanceOf(Route.Base.class);
    assertThat(RouteParser.parse("/v2")).isInstanceOf(Route.Base.class);
    Route.Manifest m = (Route.Manifest) RouteParser.parse("/v2/library/nginx/manifests/1.27?ns=docker.io");
    assertThat(m.name().value()).isEqualTo("library/nginx");
    assertThat(m.reference()).isEqualTo(new Reference.Tag("1.27"));
    assertThat(m.ns()).isEqualTo("docker.io");
    Route.Blob b = (Route.Blob) RouteParser.parse("/v2/a/b/c/blobs/" + D);
    assertThat(b.name().value()).isEqualTo("a/b/c");
    assertThat(b.digest().toString()).isEqualTo(D);
    assertThat(b.ns()).isNull();
    Route.Tags t = (Route.Tags) RouteParser.parse("/v2/app/tags/list?n=10&last=v1");
    assertThat(t.query()).isEqualTo("n=10&last=v1");
    Route.Referrers r = (Route.Referrers) RouteParser.parse(
        "/v2/app/referrers/" + D + "?artifactType=application/vnd.example%2Bjson&junk=1");
    assertThat(r.query()).isEqualTo("artifactType=application%2Fvnd.example%2Bjson");
    assertThat(((Route.Tags) RouteParser.parse("/v2/app/tags/list?x=1&n=5&ns=a")).query())
        .isEqualTo("n=5");
    assertThat(RouteParser.parse("/v2/ghcr.io/org/app/manifests/v1"))
        .isInstanceOf(Route.Manifest.class);
  }

  @Test
  void parse_pushAndCatalog_unsupported() {
    assertThat(RouteParser.parse("/v2/app/blobs/uploads/")).isInstanceOf(Route.Unsupported.class);
    assertThat(RouteParser.parse("/v2/app/blobs/uploads/1234-5678")).isInstanceOf(Route.Unsupported.class);
    assertThat(RouteParser.parse("/v2/_catalog")).isInstanceOf(Route.Unsupported.class);
  }

  @Test
  void parse_operationalAndUnknown() {
    assertThat(RouteParser.parse("/metrics")).isInstanceOf(Route.Metrics.class);
    assertThat(RouteParser.parse("/healthz")).isEqualTo(new Route.Health(false));
    assertThat(RouteParser.parse("/readyz")).isEqualTo(new Route.Health(true));
    assertThat(RouteParser.parse("/")).isInstanceOf(Route.NotFound.class);
    assertThat(RouteParser.parse("/v2/app/other/x")).isInstanceOf(Route.NotFound.class);
  }

  @ParameterizedTest
  @CsvSource({
      "/v2/../etc/manifests/latest, NAME_INVALID",
      "/v2/a/../b/manifests/latest, NAME_INVALID",
      "/v2/%2e%2e/etc/manifests/latest, NAME_INVALID",
      "/v2/a/%2E%2E/manifests/latest, NAME_INVALID",
      "/v2/a%2fb/manifests/latest, NAME_INVALID",
      "/v2/a%00/manifests/latest, NAME_INVALID",
      "/v2/a%zz/manifests/latest, NAME_INVALID",
      "/v2/a%2/manifests/latest, NAME_INVALID",
      "/v2/UPPER/manifests/latest, NAME_INVALID",
      "/v2/a//b/manifests/latest, NAME_INVALID",
      "/v2/app/manifests/.., MANIFEST_INVALID",
      "/v2/app/manifests/%2e%2e, MANIFEST_INVALID",
      "/v2/app/blobs/sha256:zz, DIGEST_INVALID",
      "/v2/app/blobs/..%2f..%2fetc, NAME_INVALID",
      "/v2/app/blobs/latest, DIGEST_INVALID",
  })
  void parse_hostileInput_rejectedWithCode(String uri, ErrorCode code) {
    assertThatThrownBy(() -> RouteParser.parse(uri))
        .isInstanceOf(InvalidReferenceException.class)
        .satisfies(e -> assertThat(((InvalidReferenceException) e).code()).isEqualTo(code));
  }

  @ParameterizedTest
  @ValueSource(ints = {256, 300})
  void parse_overlongName_rejected(int len) {
    assertThatThrownBy(() -> RouteParser.parse("/v2/" + "a".repeat(len) + "/manifests/latest"))
        .hasMessageContaining("longer than 255");
  }

  @Test
  void queryParam_decodesAndFindsFirst() {
    assertThat(RouteParser.queryParam("ns=ghcr.io&x=1", "ns")).isEqualTo("ghcr.io");
    assertThat(RouteParser.queryParam("a=1&ns=", "ns")).isEmpty();
    assertThat(RouteParser.queryParam("a=1", "ns")).isNull();
    assertThat(RouteParser.queryParam("ns=host%3A5000", "ns")).isEqualTo("host:5000");
  }
}
