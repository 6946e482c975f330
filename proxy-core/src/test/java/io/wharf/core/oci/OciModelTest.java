package io.wharf.core.oci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class OciModelTest {

  @Test
  void digest_parse_roundTrips() {
    String hex = "a".repeat(64);
    Digest d = Digest.parse("sha256:" + hex);
    assertThat(d.algorithm()).isEqualTo("sha256");
    assertThat(d.hex()).isEqualTo(hex);
    assertThat(d.toString()).isEqualTo("sha256:" + hex);
  }

  @Test
  void digest_sha256Of_matchesKnownValue() {
    Digest d = Digest.sha256Of("abc".getBytes(StandardCharsets.UTF_8));
    assertThat(d.hex()).isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assertThat(d.matches(d.newHasher().digest("abc".getBytes(StandardCharsets.UTF_8)))).isTrue();
    assertThat(d.matches(d.newHasher().digest("abd".getBytes(StandardCharsets.UTF_8)))).isFalse();
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "sha256:abc",
      "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "md5:a", "sha256", ":abc", "sha256:", "sha256:../../etc/passwd",
      "sha512:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})
  void digest_invalid_rejectedAsDigestInvalid(String text) {
    assertThatThrownBy(() -> Digest.parse(text))
        .isInstanceOf(InvalidReferenceException.class)
        .satisfies(e -> assertThat(((RegistryException) e).code()).isEqualTo(ErrorCode.DIGEST_INVALID));
  }

  @ParameterizedTest
  @ValueSource(strings = {"library/nginx", "a", "org/sub/app", "my-app", "a.b_c__d--e", "x0/y1"})
  void repositoryName_valid_accepted(String name) {
    assertThat(RepositoryName.of(name).value()).isEqualTo(name);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "../etc", "a/../b", "a//b", "/a", "a/", "Upper", "a..b", "-a", "a-",
      "a/./b", "a b", "a%2fb", "a\u0000b"})
  void repositoryName_invalid_rejectedAsNameInvalid(String name) {
    assertThatThrownBy(() -> RepositoryName.of(name))
        .isInstanceOf(InvalidReferenceException.class)
        .satisfies(e -> assertThat(((RegistryException) e).code()).isEqualTo(ErrorCode.NAME_INVALID));
  }

  @Test
  void repositoryName_tooLong_rejected() {
    assertThatThrownBy(() -> RepositoryName.of("a".repeat(256)))
        .hasMessageContaining("longer than 255");
    assertThat(RepositoryName.of("a".repeat(255)).components()).isEqualTo(1);
  }

  @Test
  void repositoryName_components_splitOnSlash() {
    RepositoryName n = RepositoryName.of("ghcr.io/org/app");
    assertThat(n.components()).isEqualTo(3);
    assertThat(n.firstComponent()).isEqualTo("ghcr.io");
    assertThat(n.withoutFirstComponent().value()).isEqualTo("org/app");
    assertThat(RepositoryName.of("nginx").withoutFirstComponent()).isNull();
  }

  @Test
  void reference_parse_tagOrDigest() {
    assertThat(Reference.parse("1.27-alpine")).isInstanceOf(Reference.Tag.class);
    assertThat(Reference.parse("sha256:" + "b".repeat(64))).isInstanceOf(Reference.ByDigest.class);
    assertThat(Reference.parse("sha256-" + "b".repeat(64) + ".sig")).isInstanceOf(Reference.Tag.class);
  }

  @ParameterizedTest
  @ValueSource(strings = {"..", ".hidden", "-x", "a/b", "tag with space"})
  void reference_invalidTag_rejectedAsManifestInvalid(String tag) {
    assertThatThrownBy(() -> Reference.parse(tag))
        .isInstanceOf(InvalidReferenceException.class)
        .satisfies(e -> assertThat(((RegistryException) e).code()).isEqualTo(ErrorCode.MANIFEST_INVALID));
  }

  @Test
  void reference_tagOf129Chars_rejected() {
    assertThatThrownBy(() -> Reference.parse("a".repeat(129))).isInstanceOf(InvalidReferenceException.class);
    assertThat(Reference.parse("a".repeat(128)).value()).hasSize(128);
  }

  @Test
  void mediaTypes_classify_byIndexCapability() {
    assertThat(MediaTypes.classify(null)).isEqualTo(MediaTypes.AcceptClass.INDEX);
    assertThat(MediaTypes.classify(MediaTypes.DOCKER_MANIFEST)).isEqualTo(MediaTypes.AcceptClass.SINGLE);
    assertThat(MediaTypes.classify(MediaTypes.DOCKER_MANIFEST + ", " + MediaTypes.OCI_INDEX))
        .isEqualTo(MediaTypes.AcceptClass.INDEX);
    assertThat(MediaTypes.classify("*/*")).isEqualTo(MediaTypes.AcceptClass.INDEX);
  }
}
