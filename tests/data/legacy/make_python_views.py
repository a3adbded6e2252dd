#!/usr/bin/env python3
"""Writes python_views.pth: a tiny legacy-format (torch <= 1.5) checkpoint produced by Python's own pickle module
(protocol 2) with a stand-in 'torch' module, so the C++ reader is checked against a real pickler rather than only
against the hand-written pickles in test_legacy_pth.cpp. No torch needed.

Content: {'epoch': 3, 'arch': 'X', 'state_dict': OrderedDict(...) with _metadata, 'optimizer': {...}} where
state_dict holds views into one shared float storage '11' (values 0..11) and a 0-d int64 tensor in storage '22'.
Usage: python3 make_python_views.py python_views.pth
"""
import collections
import io
import pickle
import struct
import sys
import types

torch = types.ModuleType('torch')
torch_utils = types.ModuleType('torch._utils')
sys.modules['torch'] = torch
sys.modules['torch._utils'] = torch_utils
torch._utils = torch_utils


def _rebuild_tensor_v2(*args):
    raise NotImplementedError


_rebuild_tensor_v2.__module__ = 'torch._utils'
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2


def _storage_type(name, fmt):
    cls = type(name, (), {'fmt': fmt})
    cls.__module__ = 'torch'
    setattr(torch, name, cls)
    return cls


FloatStorage = _storage_type('FloatStorage', 'f')
LongStorage = _storage_type('LongStorage', 'q')


class Storage:
    def __init__(self, storage_type, key, values):
        self.storage_type, self.key, self.values = storage_type, key, values


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (_rebuild_tensor_v2, self.args)


class LegacyPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ('storage', obj.storage_type, obj.key, 'cuda:0', len(obj.values), None)
        return None


def write(path, obj, storages):
    f = io.BytesIO()
    pickle.dump(0x1950a86a20f9469cfc6c, f, protocol=2)
    pickle.dump(1001, f, protocol=2)
    pickle.dump({'protocol_version': 1001, 'little_endian': True,
                 'type_sizes': {'short': 2, 'int': 4, 'long': 4}}, f, protocol=2)
    LegacyPickler(f, protocol=2).dump(obj)
    keys = sorted(s.key for s in storages)
    pickle.dump(keys, f, protocol=2)
    by_key = {s.key: s for s in storages}
    for key in keys:
        s = by_key[key]
        f.write(struct.pack('<q', len(s.values)))
        f.write(struct.pack('<%d%s' % (len(s.values), s.storage_type.fmt), *s.values))
    with open(path, 'wb') as out:
        out.write(f.getvalue())


def main():
    shared = Storage(FloatStorage, '11', [float(i) for i in range(12)])
    counter = Storage(LongStorage, '22', [123456789])
    state_dict = collections.OrderedDict()
    state_dict['module.transposed'] = Tensor(shared, 2, (2, 3), (1, 2))
    state_dict['module.whole'] = Tensor(shared, 0, (3, 4), (4, 1))
    state_dict['module.counter'] = Tensor(counter, 0, (), ())
    state_dict['module.broadcast'] = Tensor(shared, 11, (2, 2), (0, 0))
    state_dict._metadata = collections.OrderedDict([('', {'version': 1})])
    write(sys.argv[1], {'epoch': 3, 'arch': 'X', 'state_dict': state_dict,
                        'optimizer': {'state': {}, 'param_groups': [{'lr': 0.1, 'params': [0]}]}},
          [shared, counter])


if __name__ == '__main__':
    main()
