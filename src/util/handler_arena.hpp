#ifndef PLEXBUTLER_UTIL_HANDLER_ARENA_HPP
#define PLEXBUTLER_UTIL_HANDLER_ARENA_HPP

// In-object storage for the one asynchronous operation of an object that is normally pending
// (the pool's idle-timer wait), given to Asio as the handler's associated allocator (the pattern
// of Asio's example allocation/server.cpp). Without it the wait takes a block from Asio's
// per-thread recycling cache, which may be a large one, and holds it as long as the connection
// idles.

#include <atomic>
#include <cstddef>
#include <new>

namespace plexbutler::detail {

/// Storage for one operation of at most `Size` bytes at a time. A second allocation while the
/// storage is taken (a superseded wait that has not completed yet), or a larger one, goes to the
/// heap. Thread-safe: Asio frees an operation's memory on whichever thread completes it, possibly
/// while the owner allocates the next one on its strand.
template <std::size_t Size>
class handler_arena {
public:
    handler_arena() = default;
    handler_arena(const handler_arena&) = delete;
    handler_arena& operator=(const handler_arena&) = delete;

    /// `n` bytes aligned for any standard type: the in-object storage when it is free and large enough.
    void* allocate(std::size_t n)
    {
        if (n <= Size && !in_use_.exchange(true, std::memory_order_acquire))
            return storage_;
        return ::operator new(n);
    }

    /// Frees what `allocate` returned.
    void deallocate(void* p) noexcept
    {
        if (p == static_cast<void*>(storage_))
            in_use_.store(false, std::memory_order_release);
        else
            ::operator delete(p);
    }

    /// Whether the in-object storage holds an operation (for tests).
    bool in_use() const noexcept { return in_use_.load(std::memory_order_acquire); }

    static constexpr std::size_t size = Size;

private:
    alignas(std::max_align_t) unsigned char storage_[Size];
    std::atomic<bool> in_use_{false};
};

/// A standard allocator over a `handler_arena`, for `boost::asio::bind_allocator`. The arena must
/// outlive every operation allocated with it (the handler keeps its owner alive).
template <class T, std::size_t Size>
class arena_allocator {
public:
    using value_type = T;
    template <class U>
    struct rebind {
        using other = arena_allocator<U, Size>;
    };

    explicit arena_allocator(handler_arena<Size>& arena) noexcept : arena_(&arena) {}
    template <class U>
    arena_allocator(const arena_allocator<U, Size>& other) noexcept : arena_(other.arena_)
    {
    }

    T* allocate(std::size_t n)
    {
        static_assert(alignof(T) <= alignof(std::max_align_t), "over-aligned operations are not supported");
        if (n > static_cast<std::size_t>(-1) / sizeof(T))
            throw std::bad_array_new_length();
        return static_cast<T*>(arena_->allocate(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t) noexcept { arena_->deallocate(p); }

    template <class U>
    bool operator==(const arena_allocator<U, Size>& other) const noexcept
    {
        return arena_ == other.arena_;
    }

private:
    template <class, std::size_t>
    friend class arena_allocator;
    handler_arena<Size>* arena_;
};

} // namespace plexbutler::detail

#endif
