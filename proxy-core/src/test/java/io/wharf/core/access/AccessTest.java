package io.wharf.core.access;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wharf.core.config.WharfConfig;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Base64;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AccessTest {
  @TempDir Path dir;

  static String bcrypt(String version, String password) {
    byte[] salt = new byte[16];
    new java.security.SecureRandom().nextBytes(salt);
    String h = OpenBSDBCrypt.generate("2b", password.toCharArray(), salt, 4);
    return "$" + version + h.substring(3);
  }

  static String basic(String user, String password) {
    return "Basic " + Base64.getEncoder().encodeToString(
        (user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void cidr_matchesV4V6AndMapped() throws Exception {
    assertThat(Cidr.parse("10.0.0.0/8").contains(InetAddress.getByName("10.200.1.2"))).isTrue();
    assertThat(Cidr.parse("10.0.0.0/8").contains(InetAddress.getByName("11.0.0.1"))).isFalse();
    assertThat(Cidr.parse("192.168.4.0/22").contains(InetAddress.getByName("192.168.7.255"))).isTrue();
    assertThat(Cidr.parse("192.168.4.0/22").contains(InetAddress.getByName("192.168.8.0"))).isFalse();
    assertThat(Cidr.parse("fd00::/8").contains(InetAddress.getByName("fd12::1"))).isTrue();
    assertThat(Cidr.parse("127.0.0.1").contains(InetAddress.getByName("::ffff:127.0.0.1"))).isTrue();
    assertThat(Cidr.parse("0.0.0.0/0").contains(InetAddress.getByName("::1"))).isFalse();
    assertThatThrownBy(() -> Cidr.parse("example.com/8")).hasMessageContaining("not an IP network");
    assertThatThrownBy(() -> Cidr.parse("10.0.0.0/33")).hasMessageContaining("prefix");
  }

  @Test
  void htpasswd_bcryptVariants_wrongPassword_weakHashesIgnored_reloaded() throws Exception {
    Path f = dir.resolve("htpasswd");
    String pw = "p@ss:w/rd%&?";
    Files.writeString(f, "alice:" + bcrypt("2y", pw) + "\nbob:" + bcrypt("2a", "b")
        + "\ncarol:$apr1$abc$defghijklmnopqrstuvwx\n");
    Htpasswd h = new Htpasswd(f);
    assertThat(h.check("alice", pw)).isTrue();
    assertThat(h.check("alice", "wrong")).isFalse();
    assertThat(h.check("bob", "b")).isTrue();
    assertThat(h.check("carol", "anything")).as("MD5 hashes are refused").isFalse();
    assertThat(h.check("nobody", pw)).isFalse();
    Files.writeString(f, "dave:" + bcrypt("2b", "d") + "\n");
    Files.setLastModifiedTime(f, FileTime.from(Instant.now().plusSeconds(5)));
    assertThat(h.check("dave", "d")).isTrue();
    assertThat(h.check("alice", pw)).isFalse();
  }

  @Test
  void accessControl_networkThenPassword_perUpstream() throws Exception {
    Path f = dir.resolve("htpasswd");
    Files.writeString(f, "alice:" + bcrypt("2y", "secret") + "\n");
    WharfConfig c = WharfConfig.parse("upstreams:\n"
        + "  - name: private\n    url: http://a\n    access: {allow: [10.0.0.0/8], htpasswd: " + f + "}\n"
        + "  - name: lan\n    url: http://b\n    access: {allow: [127.0.0.0/8]}\n"
        + "  - name: open\n    url: http://c\n");
    AccessControl ac = new AccessControl(c.upstreams(), Runnable::run);
    InetAddress inside = InetAddress.getByName("10.1.2.3");
    InetAddress outside = InetAddress.getByName("192.0.2.1");
    assertThat(ac.allOpen()).isFalse();
    assertThat(ac.check("private", outside, basic("alice", "secret")).get().outcome())
        .isEqualTo(AccessControl.Outcome.FORBIDDEN);
    assertThat(ac.check("private", inside, null).get().outcome())
        .isEqualTo(AccessControl.Outcome.NEED_AUTH);
    assertThat(ac.check("private", inside, basic("alice", "nope")).get().outcome())
        .isEqualTo(AccessControl.Outcome.NEED_AUTH);
    AccessControl.Decision ok = ac.check("private", inside, basic("alice", "secret")).get();
    assertThat(ok.outcome()).isEqualTo(AccessControl.Outcome.ALLOWED);
    assertThat(ok.user()).isEqualTo("alice");
    assertThat(ac.check("private", inside, basic("alice", "secret")).get().reason()).isEqualTo("cached");
    assertThat(ac.check("lan", outside, null).get().outcome()).isEqualTo(AccessControl.Outcome.FORBIDDEN);
    assertThat(ac.check("open", outside, null).get().outcome()).isEqualTo(AccessControl.Outcome.ALLOWED);
    assertThat(ac.checkAny(outside, null).get().outcome()).isEqualTo(AccessControl.Outcome.ALLOWED);
    assertThat(ac.firstAuthenticatedUpstream()).isEqualTo("private");
  }
}
