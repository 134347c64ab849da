import { compare } from './order.ts';
import type { DirNode, FileNode } from './types.ts';

/** The directory hierarchy of sorted repository paths: directories first, then files, by name. */
export function fileTree(paths: readonly string[]): DirNode {
  const root: DirNode = { type: 'dir', name: '', path: '', children: [] };
  const dirs = new Map<string, DirNode>([['', root]]);
  const dirOf = (path: string): DirNode => {
    const found = dirs.get(path);
    if (found) return found;
    const slash = path.lastIndexOf('/');
    const dir: DirNode = { type: 'dir', name: path.slice(slash + 1), path, children: [] };
    dirOf(slash === -1 ? '' : path.slice(0, slash)).children.push(dir);
    dirs.set(path, dir);
    return dir;
  };
  for (const path of paths) {
    const slash = path.lastIndexOf('/');
    const file: FileNode = { type: 'file', name: path.slice(slash + 1), path };
    dirOf(slash === -1 ? '' : path.slice(0, slash)).children.push(file);
  }
  for (const dir of dirs.values()) {
    dir.children.sort((a, b) => (a.type === b.type ? compare(a.name, b.name) : a.type === 'dir' ? -1 : 1));
  }
  return root;
}
