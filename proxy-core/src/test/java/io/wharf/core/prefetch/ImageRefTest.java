package io.wharf.core.prefetch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.wharf.core.oci.Reference;
import org.junit.jupiter.api.Test;

class ImageRefTest {

  @Test
  void parse_registryRepositoryTagDigest() {
    ImageRef a = ImageRef.parse("alpine");
    assertThat(a.registry()).isNull();
    assertThat(a.repository().value()).isEqualTo("alpine");
    assertThat(a.reference()).isEqualTo(new Reference.Tag("latest"));

    ImageRef b = ImageRef.parse("ghcr.io/org/app:1.2");
    assertThat(b.registry()).isEqualTo("ghcr.io");
    assertThat(b.repository().value()).isEqualTo("org/app");
    assertThat(b.reference().value()).isEqualTo("1.2");

    ImageRef c = ImageRef.parse("registry.local:5000/app:v1@sha256:" + "a".repeat(64));
    assertThat(c.registry()).isEqualTo("registry.local:5000");
    assertThat(c.reference()).isInstanceOf(Reference.ByDigest.class);
    assertThat(c.toString()).isEqualTo("registry.local:5000/app@sha256:" + "a".repeat(64));

    assertThat(ImageRef.parse("localhost/app").registry()).isEqualTo("localhost");
    assertThat(ImageRef.parse("team/app:1").registry()).as("no dot, no colon: a namespace")
        .isNull();
  }

  @Test
  void parse_rejectsBadInput() {
    for (String bad : new String[] {"", " ", "App:1", "a/../b:1", "a:bad tag", "a@sha256:xyz",
        "a@notadigest", "a//b"}) {
      assertThatThrownBy(() -> ImageRef.parse(bad)).as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void platform_parseAndMatch() throws Exception {
    ObjectMapper json = new ObjectMapper();
    var arm64 = json.readTree("{\"os\":\"linux\",\"architecture\":\"arm64\"}");
    var armv7 = json.readTree("{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}");
    assertThat(Platform.parse("linux/arm64").matches(arm64)).isTrue();
    assertThat(Platform.parse("linux/arm64/v8").matches(arm64)).isTrue();
    assertThat(Platform.parse("linux/amd64").matches(arm64)).isFalse();
    assertThat(Platform.parse("linux/arm/v7").matches(armv7)).isTrue();
    assertThat(Platform.parse("linux/arm/v6").matches(armv7)).isFalse();
    assertThat(Platform.parse("linux/arm").matches(armv7)).isTrue();
    assertThat(Platform.parse("linux/amd64").matches(null)).isFalse();
    for (String bad : new String[] {"linux", "linux/", "a/b/c/d", "Linux/amd64", ""}) {
      assertThatThrownBy(() -> Platform.parse(bad)).as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }
}
