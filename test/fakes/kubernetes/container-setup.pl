# Sets up one container inside its new mount namespace (run by sandbox.ts after `unshare -m`,
# with the settings prepended as `our` variables), then execs the container's command. One perl
# process does every mount by syscall: a `mount` binary per mount point costs a process each,
# which is most of a pod's start time on a loaded machine. perl-base is Essential on Debian; no
# modules are loaded (File::Path alone costs more than perl's own start-up).
use strict;
use warnings;
use constant { MS_RDONLY => 1, MS_REMOUNT => 32, MS_BIND => 4096, MS_REC => 16384 };
our ($SYS_MOUNT, $SYS_CLOSE, $R, $L, $HOME_SRC, $TMP_SRC, @HIDE, @FILES, @MOUNTS, $HOSTS, $WD, %CENV, @CMD);

sub make_path {
  for my $p (@_) {
    my $cur = '';
    for my $seg (grep { length } split m{/}, $p) {
      $cur .= "/$seg";
      next if -d $cur;
      mkdir($cur) or -d $cur or die "mkdir $cur: $!\n";
    }
  }
}

sub dirname { my ($p) = @_; $p =~ s{/+[^/]*$}{}; return length($p) ? $p : '/'; }

sub remove_tree {
  my ($p) = @_;
  if (-d $p && !-l $p) {
    opendir(my $d, $p) or die "$p: $!\n";
    remove_tree("$p/$_") for grep { $_ ne '.' && $_ ne '..' } readdir($d);
    closedir($d);
    rmdir($p) or die "rmdir $p: $!\n";
  } else {
    unlink($p) or die "unlink $p: $!\n";
  }
}

sub mnt {
  my ($src, $dst, $type, $flags, $data) = @_;
  syscall($SYS_MOUNT, $src, $dst, $type, $flags, $data) == 0 or die "mount $dst: $!\n";
}

# A mount point for $src at $dst: a directory, or an empty file for a file.
sub mountpoint {
  my ($src, $dst) = @_;
  if (-d $src) { make_path($dst); return; }
  make_path(dirname($dst));
  open(my $f, '>>', $dst) or die "$dst: $!\n";
  close $f;
}

# Descriptors the fake's own ancestors left open without close-on-exec: a container starts with
# stdin, stdout and stderr only (3 and 4 are the handshake, closed below).
my @inherited = do { opendir(my $d, '/proc/self/fd') or die "fd: $!\n"; grep { /^\d+$/ && $_ > 4 } readdir($d) };

# Our host pid: /proc is still the host's procfs here.
my $hostpid = do { open(my $s, '<', '/proc/self/stat') or die "stat: $!\n"; my $l = <$s>; (split / /, $l)[0] };

mnt('layer', $L, 'tmpfs', 0, 'mode=0755');
make_path("$L/upper", "$L/work");
mnt('overlay', $R, 'overlay', 0, "lowerdir=/,upperdir=$L/upper,workdir=$L/work");
mnt('/dev', "$R/dev", 0, MS_BIND | MS_REC, 0);
mnt('shm', "$R/dev/shm", 'tmpfs', 0, 'mode=1777,size=64m');
mnt('proc', "$R/proc", 'proc', 0, 0);
mnt('/sys', "$R/sys", 0, MS_BIND | MS_REC, 0);
make_path("$R/root", "$R/tmp");
mnt($HOME_SRC, "$R/root", 0, MS_BIND, 0);
mnt($TMP_SRC, "$R/tmp", 0, MS_BIND, 0);
for my $p (@HIDE) { remove_tree("$R$p") if -e "$R$p" || -l "$R$p"; }
for my $f (@FILES) {
  my ($dst, $src) = @$f;
  mountpoint($src, "$R$dst");
  mnt($src, "$R$dst", 0, MS_BIND, 0);
}
for my $m (@MOUNTS) {
  my ($src, $dst, $ro) = @$m;
  mountpoint($src, "$R$dst");
  mnt($src, "$R$dst", 0, MS_BIND, 0);
  mnt(0, "$R$dst", 0, MS_REMOUNT | MS_BIND | MS_RDONLY, 0) if $ro;
}
{ open(my $h, '>', "$R/etc/hosts") or die "/etc/hosts: $!\n"; print $h $HOSTS; close $h; }
make_path("$R$WD");
chroot($R) or die "chroot: $!\n";
chdir($WD) or die "chdir $WD: $!\n";
%ENV = %CENV;

# Resolve the command the way execvp will, so a missing one is a start error (as with runc),
# not an exit code of a process that never was the container.
my $cmd = $CMD[0];
my $error;
if ($cmd =~ m{/}) { $error = "exec: \"$cmd\": stat $cmd: no such file or directory" unless -e $cmd; }
elsif (!grep { -f "$_/$cmd" && -x _ } split(/:/, $ENV{PATH} // '')) { $error = "exec: \"$cmd\": executable file not found in \$PATH"; }
open(my $ctl, '>&=', 3) or die "fd 3: $!\n";
if ($error) { syswrite($ctl, "error $error\n"); exit 127; }
# Handshake: the fake opens our mount namespace before we exec, so its id cannot be reused by
# another container before the fake has killed whatever this one leaves behind.
syswrite($ctl, "started $hostpid\n");
open(my $go, '<&=', 4) or die "fd 4: $!\n";
my $ok = <$go>;
exit 1 unless defined $ok && $ok eq "go\n";
close $go;
close $ctl;
syscall($SYS_CLOSE, $_ + 0) for @inherited;
exec { $cmd } @CMD or do { print STDERR "exec $cmd: $!\n"; exit 127 };
