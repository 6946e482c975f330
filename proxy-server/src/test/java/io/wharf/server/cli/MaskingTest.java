package io.wharf.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.core.config.WharfConfig;
import org.junit.jupiter.api.Test;

class MaskingTest {

  @Test
  void render_inlinePeerAndAdminTokens_masked() throws Exception {
    String out = Masking.render(WharfConfig.parse("""
        admin:
          token: admin-s3cret
        peers:
          members: ["10.0.0.1:5000"]
          token: peer-s3cret
        """));
    assertThat(out).doesNotContain("admin-s3cret").doesNotContain("peer-s3cret");
    assertThat(out).contains("members:").contains("****");
  }
}
