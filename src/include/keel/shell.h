/* The Keel shell: reached from the console with Ctrl-a k. */
#ifndef KEEL_SHELL_H
#define KEEL_SHELL_H

void shell_input(char c);
void shell_prompt(void);

#endif
