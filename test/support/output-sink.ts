/** A CLI command's output stream that keeps what was written, for assertions. */
export function sink(): { write(s: string): void; text: string } {
  return {
    text: '',
    write(s: string) {
      this.text += s;
    },
  };
}
