/* `nestvm vm SUBCOMMAND`: the named-VM commands, each in its own file.
 *   cmd_vm_define.c    create, set, delete            (the store)
 *   cmd_vm_query.c     list, show                     (the store)
 *   cmd_vm_lifecycle.c start, stop, console           (the VMM process)
 *   cmd_vm_pause.c     pause, resume                  (the VMM process)
 *   cmd_vm_save.c      save, delete-saved-state       (the VMM process, the store)
 *   cmd_vm_checkpoint.c checkpoint [list|delete], restore (the VMM process, the store)
 *   cmd_vm_migrate.c   migrate                        (the VMM process)
 *   cmd_vm_receive.c   receive                        (the store, the VMM process)
 *   cmd_vm_ssh.c       ssh                            (the store, the NAT switch)
 * All take argv with argv[0] = the subcommand's name. */
#ifndef NESTVM_CLI_VM_COMMANDS_H
#define NESTVM_CLI_VM_COMMANDS_H

int cmd_vm_create(int argc, char **argv);
int cmd_vm_set(int argc, char **argv);
int cmd_vm_delete(int argc, char **argv);
int cmd_vm_list(int argc, char **argv);
int cmd_vm_show(int argc, char **argv);
int cmd_vm_start(int argc, char **argv);
int cmd_vm_stop(int argc, char **argv);
int cmd_vm_console(int argc, char **argv);
int cmd_vm_pause(int argc, char **argv);
int cmd_vm_resume(int argc, char **argv);
int cmd_vm_save(int argc, char **argv);
int cmd_vm_delete_saved_state(int argc, char **argv);
int cmd_vm_checkpoint(int argc, char **argv);
int cmd_vm_restore(int argc, char **argv);
int cmd_vm_migrate(int argc, char **argv);
int cmd_vm_receive(int argc, char **argv);
int cmd_vm_ssh(int argc, char **argv);

#endif
