#!/usr/bin/env node
import { exitWith } from '@shmkit/kit/cli';

import { tinyfileMain } from '../src/cli/tinyfile-main';

exitWith('tinyfile', tinyfileMain(process.argv.slice(2)));
