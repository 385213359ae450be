/* ELF core dumps of a guest: RAM as one PT_LOAD (guest virtual == physical), NT_PRSTATUS per vCPU. */
#include <config.h>
#include <elf.h>
#include <errno.h>
#include <time.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/procfs.h>
#include <sys/user.h>
#include <unistd.h>
#include <stdint.h>   /* the Xen headers assume it */
#include <xen/xen.h>
#include "kxl.h"

#define CONTEXT_TRIES   200
#define CONTEXT_WAIT_NS 10000000L

#define CORE_NOTE_NAME "CORE"
#define CORE_ALIGN 4096

/* One note as readers expect it: header, "CORE\0" padded to 8, the prstatus; no padding between. */
#define CORE_NOTE_SIZE (sizeof(Elf64_Nhdr) + 8 + sizeof(struct elf_prstatus))

/* gdb reads NT_PRSTATUS pr_reg in the order of Linux's struct user_regs_struct. */
static void fill_prstatus(struct elf_prstatus *st, unsigned vcpu, const vcpu_guest_context_t *c)
{
	const struct cpu_user_regs *u = &c->user_regs;
	struct user_regs_struct r = {
		.r15 = u->r15, .r14 = u->r14, .r13 = u->r13, .r12 = u->r12, .rbp = u->rbp,
		.rbx = u->rbx, .r11 = u->r11, .r10 = u->r10, .r9 = u->r9, .r8 = u->r8,
		.rax = u->rax, .rcx = u->rcx, .rdx = u->rdx, .rsi = u->rsi, .rdi = u->rdi,
		.orig_rax = (unsigned long long)-1, .rip = u->rip, .cs = u->cs, .eflags = u->rflags,
		.rsp = u->rsp, .ss = u->ss, .fs_base = c->fs_base, .gs_base = c->gs_base_user,
		.ds = u->ds, .es = u->es, .fs = u->fs, .gs = u->gs,
	};
	memset(st, 0, sizeof(*st));
	st->pr_pid = (int)vcpu + 1;   /* gdb shows vCPUs as threads; 0 is not a valid LWP */
	memcpy(&st->pr_reg, &r, sizeof(r) < sizeof(st->pr_reg) ? sizeof(r) : sizeof(st->pr_reg));
}

static int write_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;
	while (len) {
		ssize_t w = pwrite(fd, p, len, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		off += w;
		len -= (size_t)w;
	}
	return 0;
}

int kxl_core_dump(kxctrl *h, uint32_t domid, const char *path, char *err, size_t errlen)
{
	struct kxctl_vcpuinfo vi[32];
	uint8_t *notes = NULL;
	unsigned nv = 0;
	int memfd = -1, fd = -1, r;
	uint64_t size = 0;
	void *ram = MAP_FAILED;

	if ((r = kxctrl_vcpu_info(h, domid, vi, 32, &nv))) {
		snprintf(err, errlen, "vCPU info: %s", strerror(-r));
		goto out;
	}
	if (!(notes = calloc(nv, CORE_NOTE_SIZE))) {
		r = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < nv; i++) {
		vcpu_guest_context_t ctx;
		/*
		 * A pause takes effect when each vCPU next leaves KVM_RUN, a moment
		 * after the request: until then kxen-hv answers EBUSY. Give it 2 s.
		 */
		for (unsigned tries = 0; (r = kxctrl_vcpu_context(h, domid, i, &ctx)) == -EBUSY &&
		                         tries < CONTEXT_TRIES; tries++)
			nanosleep(&(struct timespec){ 0, CONTEXT_WAIT_NS }, NULL);
		if (r) {
			snprintf(err, errlen, "registers of vCPU %u: %s", i, strerror(-r));
			goto out;
		}
		Elf64_Nhdr nh = { .n_namesz = sizeof(CORE_NOTE_NAME),
		                  .n_descsz = sizeof(struct elf_prstatus), .n_type = NT_PRSTATUS };
		struct elf_prstatus st;
		uint8_t *p = notes + i * CORE_NOTE_SIZE;
		fill_prstatus(&st, i, &ctx);
		memcpy(p, &nh, sizeof(nh));
		memcpy(p + sizeof(nh), CORE_NOTE_NAME, sizeof(CORE_NOTE_NAME));
		memcpy(p + sizeof(nh) + 8, &st, sizeof(st));
	}
	if ((r = kxctrl_map_memory(h, domid, &memfd, &size))) {
		snprintf(err, errlen, "guest memory: %s", strerror(-r));
		goto out;
	}
	ram = mmap(NULL, size, PROT_READ, MAP_SHARED, memfd, 0);
	if (ram == MAP_FAILED) {
		r = -errno;
		snprintf(err, errlen, "map guest memory: %s", strerror(errno));
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	size_t notes_len = nv * CORE_NOTE_SIZE;
	off_t notes_off = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr);
	off_t ram_off = (off_t)((notes_off + notes_len + CORE_ALIGN - 1) & ~(size_t)(CORE_ALIGN - 1));
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT,
		             ELFOSABI_SYSV },
		.e_type = ET_CORE, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
		.e_phoff = sizeof(Elf64_Ehdr), .e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 2,
	};
	Elf64_Phdr ph[2] = {
		{ .p_type = PT_NOTE, .p_offset = (Elf64_Off)notes_off, .p_filesz = notes_len, .p_align = 4 },
		/* xenpv guests run with virtual == physical for all RAM: one segment at 0. */
		{ .p_type = PT_LOAD, .p_flags = PF_R | PF_W | PF_X, .p_offset = (Elf64_Off)ram_off,
		  .p_vaddr = 0, .p_paddr = 0, .p_filesz = size, .p_memsz = size, .p_align = CORE_ALIGN },
	};
	if ((r = write_all(fd, &eh, sizeof(eh), 0)) || (r = write_all(fd, ph, sizeof(ph), sizeof(eh))) ||
	    (r = write_all(fd, notes, notes_len, notes_off)) || (r = write_all(fd, ram, size, ram_off))) {
		snprintf(err, errlen, "%s: write: %s", path, strerror(-r));
		unlink(path);
		goto out;
	}
	r = 0;
out:
	if (ram != MAP_FAILED)
		munmap(ram, size);
	if (memfd >= 0)
		close(memfd);
	if (fd >= 0)
		close(fd);
	free(notes);
	return r;
}
